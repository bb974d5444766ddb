"""The checked-in gRPC stubs are exactly what ``make proto`` generates from ``proto/``."""

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
STUBS = ROOT / "services" / "common" / "ragchat" / "v1"


def load_generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("proto_generate", ROOT / "proto" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checked_in_stubs_match_the_contracts(tmp_path: Path) -> None:
    load_generator().generate(tmp_path)
    fresh = {p.name: p.read_bytes() for p in (tmp_path / "ragchat" / "v1").iterdir()}
    # Files only: importing the stubs may have left a __pycache__ folder beside them.
    checked_in = {
        p.name: p.read_bytes() for p in STUBS.iterdir() if p.is_file() and p.name != "__init__.py"
    }
    assert sorted(fresh) == sorted(checked_in), "run `make proto`"
    stale = [name for name in fresh if fresh[name] != checked_in[name]]
    assert not stale, f"stubs out of date, run `make proto`: {stale}"
