"""Schemathesis against the gateway's OpenAPI with a logged-in owner: ``make fuzz``.

Starts the real auth, retriever, chat and gateway processes on names of their own
(:func:`tests.harness.pipeline.running_stack`), logs in as the first owner, creates a knowledge
base and a crawl whose ids fill the ``kb_id`` / ``crawl_id`` path parameters (so those routes get
past their 404s; the kb deletion gets a second kb), and runs ``schemathesis run`` on
``/openapi.json`` with the owner's access token. Checks: no 5xx (``not_a_server_error``) and every
response matches its documented status and schema (``status_code_conformance``,
``response_schema_conformance``, ``content_type_conformance``). Rate limits are raised out of the
way (a 429 is documented and would pass, but it would hide the route behind it); the access
token lives an hour so it outlasts the run. WebSocket routes are not in OpenAPI.

    .venv/bin/python -m tests.fuzz.gateway [--max-examples 25] [--workers 2] [-- <st args>]

Exit status is schemathesis's: 0 when every check passed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import httpx
from ragchat_common.settings import (
    KafkaSettings,
    OpenSearchSettings,
    PostgresSettings,
    RedisSettings,
)

from tests.harness.pipeline import BIN, Infrastructure, running_stack

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "response_schema_conformance",
    "content_type_conformance",
)


@dataclass(frozen=True)
class FuzzData:
    """The owner's token and real ids for path parameters, so routes get past their 404s."""

    token: str
    kb_id: str
    doomed_kb_id: str
    crawl_id: str

    def config(self) -> str:
        """A schemathesis.toml: these ids in every path; the kb deletion gets a kb of its own."""
        return (
            "[parameters]\n"
            f'"path.kb_id" = "{self.kb_id}"\n'
            f'"path.crawl_id" = "{self.crawl_id}"\n\n'
            "[[operations]]\n"
            'include-name = "DELETE /api/v1/knowledge-bases/{kb_id}"\n'
            f'parameters = {{ "path.kb_id" = "{self.doomed_kb_id}" }}\n'
        )


async def prepare(gateway_url: str, email: str, password: str) -> FuzzData:
    """Log in as the owner and create two knowledge bases and a crawl."""
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as client:
        login = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
        login.raise_for_status()
        token = str(login.json()["access_token"])
        owner = {"Authorization": f"Bearer {token}"}
        kb_ids = []
        for name in ("fuzz", "fuzz-deleted"):
            created = await client.post(
                "/api/v1/knowledge-bases",
                json={"name": name, "description": "made by make fuzz"},
                headers=owner,
            )
            created.raise_for_status()
            kb_ids.append(str(created.json()["id"]))
        crawl = await client.post(
            f"/api/v1/knowledge-bases/{kb_ids[0]}/crawls",
            json={"urls": ["https://fuzz.example/"], "mode": "single"},
            headers=owner,
        )
        crawl.raise_for_status()
        return FuzzData(token, kb_ids[0], kb_ids[1], str(crawl.json()["id"]))


def schemathesis_command(
    program: str,
    config: Path,
    gateway_url: str,
    token: str,
    max_examples: int,
    workers: int,
    extra: list[str],
) -> list[str]:
    """The ``schemathesis run`` command line."""
    return [
        program,
        "--config-file",
        str(config),
        "run",
        f"{gateway_url}/openapi.json",
        "--url",
        gateway_url,
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(max_examples),
        "--workers",
        str(workers),
        "--request-timeout",
        "30",
        # Links between operations are not declared, so the stateful phase has nothing to follow.
        "--phases",
        "examples,coverage,fuzzing",
        # Nothing written into the working tree (.hypothesis/).
        "--generation-database",
        "none",
        *extra,
    ]


async def fuzz(program: str, max_examples: int, workers: int, extra: list[str]) -> int:
    """Run the stack and schemathesis against it; schemathesis's exit status."""
    suffix = uuid4().hex[:10]
    env = {
        "auth": {"AUTH_ACCESS_TOKEN_TTL_S": "3600"},
        "gateway": {
            "GATEWAY_RATE_LIMIT_KEY_PREFIX": f"ratelimit-{suffix}",
            "GATEWAY_RATE_LIMIT_USER": "100000/minute",
            "GATEWAY_RATE_LIMIT_LOGIN_IP": "100000/minute",
        },
    }
    infra = Infrastructure(
        KafkaSettings(), OpenSearchSettings(), PostgresSettings(), RedisSettings()
    )
    with tempfile.TemporaryDirectory(prefix="ragchat-fuzz-") as workdir:
        async with running_stack(
            infra, suffix, Path(workdir), env=env, only=("auth", "retriever", "chat", "gateway")
        ) as stack:
            data = await prepare(stack.gateway_url, stack.owner_email, stack.owner_password)
            config = Path(workdir) / "schemathesis.toml"
            config.write_text(data.config())
            command = schemathesis_command(
                program, config, stack.gateway_url, data.token, max_examples, workers, extra
            )
            shown = [c if "Bearer" not in c else "'Authorization: Bearer <owner>'" for c in command]
            print("$", " ".join(shown), "\n" + data.config())
            completed = await asyncio.to_thread(
                subprocess.run, command, env={**os.environ, "NO_COLOR": "1"}
            )
            if completed.returncode != 0:
                print(stack.services["gateway"].log_tail(80), file=sys.stderr)
            return completed.returncode


def main() -> None:
    """Entry point: ``python -m tests.fuzz.gateway``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schemathesis", default=str(BIN / "schemathesis"), help="its program")
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("extra", nargs="*", help="more schemathesis options (after --)")
    args = parser.parse_args()
    sys.exit(asyncio.run(fuzz(args.schemathesis, args.max_examples, args.workers, args.extra)))


if __name__ == "__main__":
    main()
