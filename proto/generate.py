"""Generate the Python gRPC stubs for every contract under ``proto/`` (run by ``make proto``).

The stubs are checked in under ``services/common/ragchat/v1`` so services import them without a
build step; ``tests/test_proto_stubs.py`` regenerates them into a scratch folder and fails when the
checked-in copy differs, i.e. when someone edited a ``.proto`` without running ``make proto``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent
DEFAULT_OUT = PROTO_ROOT.parent / "services" / "common"
# Google's well-known types (timestamp.proto, ...) ship inside grpcio-tools.
WELL_KNOWN_TYPES = Path(grpc_tools.__file__).parent / "_proto"


def proto_files() -> list[Path]:
    """Every contract, in a stable order."""
    return sorted(PROTO_ROOT.rglob("*.proto"))


def generate(out_dir: Path = DEFAULT_OUT) -> None:
    """Write the ``_pb2``, ``.pyi`` and ``_pb2_grpc`` modules of every contract into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{WELL_KNOWN_TYPES}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *(str(p.relative_to(PROTO_ROOT)) for p in proto_files()),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed; see the message above")


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
