"""The ``ragchat`` command: log in, manage knowledge bases, crawls, API keys and users, and ask.

Every command talks to the gateway's public API (``--url`` or ``RAGCHAT_URL``, else the URL saved
at login, else ``http://127.0.0.1:8080``), exactly as the web app does.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ragchat_gateway.cli.client import CliError, GatewayClient
from ragchat_gateway.cli.credentials import CredentialStore

DEFAULT_URL = "http://127.0.0.1:8080"
FINISHED_STATES = frozenset({"done", "cancelled", "failed"})

app = typer.Typer(help="ragchat: web-grounded support chat, from the command line.")
kb_app = typer.Typer(help="Knowledge bases.")
crawl_app = typer.Typer(help="Crawls of a knowledge base.")
keys_app = typer.Typer(help="API keys (admins).")
users_app = typer.Typer(help="Users of the organisation (admins).")
app.add_typer(kb_app, name="kb")
app.add_typer(crawl_app, name="crawl")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")

# Lines are never wrapped: ids and URLs stay whole for copying and for scripts.
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

UrlOption = Annotated[
    str | None, typer.Option("--url", envvar="RAGCHAT_URL", help="Gateway base URL")
]
KbOption = Annotated[list[str], typer.Option("--kb", help="Knowledge base name or id")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


def _gateway_url(url: str | None, store: CredentialStore) -> str:
    if url:
        return url
    saved = store.load()
    return saved.url if saved else DEFAULT_URL


@contextmanager
def gateway(url: str | None) -> Iterator[GatewayClient]:
    """A client for one command; a :class:`CliError` ends the command with its message."""
    store = CredentialStore()
    client = GatewayClient(
        _gateway_url(url, store), store, api_key=os.environ.get("RAGCHAT_API_KEY") or None
    )
    try:
        yield client
    except CliError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    finally:
        client.close()


def resolve_kbs(client: GatewayClient, wanted: list[str]) -> list[str]:
    """Knowledge-base ids from names or ids (names as listed by the gateway)."""
    if all(_is_uuid(w) for w in wanted):
        return wanted
    items = client.request("GET", "/knowledge-bases", params={"limit": 500})["items"]
    by_name = {kb["name"]: kb["id"] for kb in items}
    ids = []
    for name in wanted:
        if _is_uuid(name):
            ids.append(name)
        elif name in by_name:
            ids.append(by_name[name])
        else:
            raise CliError(f"no knowledge base named {name!r}")
    return ids


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def _print_json(value: Any) -> None:
    console.print_json(json.dumps(value, default=str))


# --- session ----------------------------------------------------------------------------------


@app.command()
def login(
    email: Annotated[str, typer.Option(prompt=True, help="Your email")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, help="Your password")],
    url: UrlOption = None,
) -> None:
    """Log in; the refresh token is saved in ~/.config/ragchat/credentials (mode 0600)."""
    with gateway(url) as client:
        user = client.login(email, password)
    console.print(f"Logged in to {client.url} as [bold]{user['email']}[/bold] ({user['role']}).")


@app.command()
def logout(url: UrlOption = None) -> None:
    """Revoke the saved session and forget it."""
    with gateway(url) as client:
        client.logout()
    console.print("Logged out.")


@app.command()
def whoami(url: UrlOption = None) -> None:
    """Who the saved session (or RAGCHAT_API_KEY) is."""
    with gateway(url) as client:
        _print_json(client.request("GET", "/auth/me"))


# --- knowledge bases --------------------------------------------------------------------------


@kb_app.command("create")
def kb_create(
    name: str,
    description: Annotated[str, typer.Option(help="What it holds")] = "",
    url: UrlOption = None,
) -> None:
    """Create a knowledge base."""
    with gateway(url) as client:
        kb = client.request(
            "POST", "/knowledge-bases", json={"name": name, "description": description}
        )
    console.print(f"Created knowledge base [bold]{kb['name']}[/bold] {kb['id']}")


@kb_app.command("list")
def kb_list(as_json: JsonOption = False, url: UrlOption = None) -> None:
    """Knowledge bases you can read, with pages, chunks and the last crawl."""
    with gateway(url) as client:
        items = client.request("GET", "/knowledge-bases", params={"limit": 500})["items"]
    if as_json:
        _print_json(items)
        return
    table = Table("id", "name", "pages", "chunks", "last crawl")
    for kb in items:
        stats = kb.get("stats") or {}
        last = stats.get("last_crawl") or {}
        table.add_row(
            kb["id"],
            kb["name"],
            str(stats.get("pages") if stats.get("pages") is not None else "-"),
            str(stats.get("chunks") if stats.get("chunks") is not None else "-"),
            f"{last.get('state', '')} {last.get('updated_at', '')}".strip() or "-",
        )
    console.print(table)


# --- crawls -----------------------------------------------------------------------------------


@crawl_app.command("submit")
def crawl_submit(
    urls: Annotated[list[str], typer.Argument(help="Start URLs (or the sitemap, or a list)")],
    kb: Annotated[str, typer.Option("--kb", help="Knowledge base name or id")],
    mode: Annotated[str, typer.Option(help="single, recursive, sitemap or list")] = "recursive",
    max_pages: Annotated[int, typer.Option(min=1)] = 500,
    max_depth: Annotated[int, typer.Option(min=0)] = 3,
    include: Annotated[list[str] | None, typer.Option(help="Regex a URL must match")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="Regex that skips a URL")] = None,
    render_js: Annotated[bool, typer.Option(help="Render pages in a browser")] = False,
    watch: Annotated[bool, typer.Option(help="Follow its progress until it ends")] = False,
    url: UrlOption = None,
) -> None:
    """Submit a crawl of a knowledge base."""
    with gateway(url) as client:
        kb_id = resolve_kbs(client, [kb])[0]
        crawl = client.request(
            "POST",
            f"/knowledge-bases/{kb_id}/crawls",
            json={
                "urls": urls,
                "mode": mode,
                "scope": {
                    "include_patterns": include or [],
                    "exclude_patterns": exclude or [],
                    "max_depth": max_depth,
                    "max_pages": max_pages,
                    "render_js": render_js,
                },
            },
        )
        console.print(f"Crawl [bold]{crawl['id']}[/bold] {crawl['state']}")
        if watch:
            _watch(client, crawl["id"])


@crawl_app.command("watch")
def crawl_watch(crawl_id: str, url: UrlOption = None) -> None:
    """Follow a crawl's progress (live, from the events stream) until it ends."""
    with gateway(url) as client:
        _watch(client, crawl_id)


@crawl_app.command("list")
def crawl_list(
    kb: Annotated[str, typer.Option("--kb")], as_json: JsonOption = False, url: UrlOption = None
) -> None:
    """Crawls of a knowledge base, newest first."""
    with gateway(url) as client:
        kb_id = resolve_kbs(client, [kb])[0]
        items = client.request("GET", f"/knowledge-bases/{kb_id}/crawls")["items"]
    if as_json:
        _print_json(items)
        return
    table = Table("id", "state", "fetched", "failed", "created", "urls")
    for crawl in items:
        progress = crawl.get("progress") or {}
        table.add_row(
            crawl["id"],
            crawl["state"],
            str(progress.get("fetched", 0)),
            str(progress.get("failed", 0)),
            str(crawl["created_at"]),
            " ".join(crawl["urls"])[:60],
        )
    console.print(table)


@crawl_app.command("cancel")
def crawl_cancel(crawl_id: str, url: UrlOption = None) -> None:
    """Cancel a running crawl."""
    with gateway(url) as client:
        crawl = client.request("POST", f"/crawls/{crawl_id}/cancel")
    console.print(f"Crawl {crawl_id}: {crawl['state'] if crawl else 'cancel requested'}")


class CrawlBar:
    """A rich progress bar of one crawl: fetched + failed + skipped out of discovered."""

    def __init__(self, progress: Progress, crawl_id: str) -> None:
        self.progress = progress
        self.task = progress.add_task(f"crawl {crawl_id[:8]}", total=None, rate="", url="")
        self.state = "queued"

    def update(self, counters: dict[str, Any]) -> None:
        """Show the latest counters of the crawl."""
        self.state = str(counters.get("state", self.state))
        done = sum(int(counters.get(k, 0) or 0) for k in ("fetched", "failed", "skipped"))
        discovered = int(counters.get("discovered", 0) or 0)
        self.progress.update(
            self.task,
            completed=done,
            total=max(discovered, done) or None,
            rate=f"{float(counters.get('pages_per_second', 0) or 0):.1f} pages/s",
            url=str(counters.get("current_url") or "")[-60:],
            description=f"{self.state} fetched={counters.get('fetched', 0)}",
        )


def _watch(client: GatewayClient, crawl_id: str) -> None:
    """Follow ``crawl_id`` from ``/ws/events`` until it finishes, then print its counters."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[url]}", style="dim"),
    )
    with (
        Progress(*columns, console=console, transient=False) as progress,
        client.events() as socket,
    ):
        bar = CrawlBar(progress, crawl_id)
        # Read after subscribing, so no event between the two is missed.
        crawl = client.request("GET", f"/crawls/{crawl_id}")
        counters: dict[str, Any] = {**crawl["progress"], "state": crawl["state"]}
        bar.update(counters)
        while bar.state not in FINISHED_STATES:
            frame = json.loads(socket.recv(timeout=60))
            if frame.get("type") == "ping":
                socket.send(json.dumps({"type": "pong"}))
            elif frame.get("type") == "crawl.progress" and frame.get("crawl_id") == crawl_id:
                counters = frame
                bar.update(counters)
    console.print(
        f"Crawl {crawl_id} {counters['state']}: {counters.get('fetched', 0)} fetched, "
        f"{counters.get('failed', 0)} failed, {counters.get('skipped', 0)} skipped"
    )


# --- chat -------------------------------------------------------------------------------------


@app.command()
def ask(
    question: str,
    kb: KbOption,
    conversation: Annotated[str | None, typer.Option(help="Continue this conversation id")] = None,
    skip_cache: Annotated[bool, typer.Option(help="Regenerate, not from the cache")] = False,
    url: UrlOption = None,
) -> None:
    """Ask a question; the answer streams, then its sources are listed."""
    with gateway(url) as client:
        body: dict[str, Any] = {"message": question, "skip_cache": skip_cache}
        if kb:
            body["kb_ids"] = resolve_kbs(client, kb)
        if conversation:
            body["conversation_id"] = conversation
        citations: list[dict[str, Any]] = []
        summary: dict[str, Any] | None = None
        for event in client.stream_chat(body):
            if event.event == "token":
                sys.stdout.write(event.data.get("text", ""))
                sys.stdout.flush()
            elif event.event == "citation":
                citations.append(event.data)
            elif event.event == "summary":
                summary = event.data
            elif event.event == "error":
                raise CliError(f"{event.data.get('message')} ({event.data.get('code')})")
        sys.stdout.write("\n")
    if citations:
        console.print("\n[bold]Sources[/bold]")
        for citation in citations:
            title = citation.get("title") or citation.get("url")
            console.print(f"  [{citation.get('number')}] {title} {citation.get('url')}")
    if summary:
        console.print(
            f"\n[dim]conversation {summary.get('conversation_id')} · "
            f"{summary.get('total_ms', 0):.0f} ms · {summary.get('provider', '')}"
            f"{' · declined' if summary.get('declined') else ''}[/dim]"
        )


# --- API keys ---------------------------------------------------------------------------------


@keys_app.command("create")
def keys_create(
    name: str,
    kb: KbOption,
    scope: Annotated[list[str], typer.Option(help="chat, ingest or read")],
    origin: Annotated[list[str] | None, typer.Option(help="Allowed origin of a widget key")] = None,
    url: UrlOption = None,
) -> None:
    """Create an API key; its secret is printed once."""
    with gateway(url) as client:
        created = client.request(
            "POST",
            "/api-keys",
            json={
                "name": name,
                "scopes": scope,
                "kb_ids": resolve_kbs(client, kb),
                "allowed_origins": origin or [],
            },
        )
    console.print(f"API key {created['api_key']['id']} ({created['api_key']['kind']})")
    console.print("Secret (shown once):")
    print(created["key"])


@keys_app.command("list")
def keys_list(as_json: JsonOption = False, url: UrlOption = None) -> None:
    """API keys of the organisation."""
    with gateway(url) as client:
        items = client.request("GET", "/api-keys")["items"]
    if as_json:
        _print_json(items)
        return
    table = Table("id", "name", "kind", "prefix", "scopes", "last used", "revoked")
    for key in items:
        table.add_row(
            key["id"],
            key["name"],
            key["kind"],
            key["prefix"],
            ",".join(key["scopes"]),
            str(key.get("last_used_at") or "-"),
            str(key.get("revoked_at") or "-"),
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str, url: UrlOption = None) -> None:
    """Revoke an API key."""
    with gateway(url) as client:
        client.request("DELETE", f"/api-keys/{key_id}")
    console.print(f"Revoked {key_id}.")


# --- users ------------------------------------------------------------------------------------


@users_app.command("list")
def users_list(as_json: JsonOption = False, url: UrlOption = None) -> None:
    """Members of the organisation and their roles."""
    with gateway(url) as client:
        items = client.request("GET", "/users")["items"]
    if as_json:
        _print_json(items)
        return
    table = Table("id", "email", "role", "joined")
    for user in items:
        table.add_row(user["id"], user["email"], user["role"], str(user.get("joined_at") or "-"))
    console.print(table)


@users_app.command("invite")
def users_invite(
    email: str,
    role: Annotated[str, typer.Option(help="owner, admin, editor, agent or viewer")] = "agent",
    url: UrlOption = None,
) -> None:
    """Invite someone; prints the one-time invitation token to send them."""
    with gateway(url) as client:
        invitation = client.request("POST", "/invitations", json={"email": email, "role": role})
    console.print(f"Invited {invitation['email']} as {invitation['role']}.")
    console.print("Invitation token (shown once):")
    print(invitation["token"])


@users_app.command("role")
def users_role(user_id: str, role: str, url: UrlOption = None) -> None:
    """Change a member's role."""
    with gateway(url) as client:
        user = client.request("PATCH", f"/users/{user_id}", json={"role": role})
    console.print(f"{user['email']} is now {user['role']}.")


@users_app.command("grant")
def users_grant(user_id: str, kb: KbOption, url: UrlOption = None) -> None:
    """Set the knowledge bases a member (editor, agent, viewer) may use."""
    with gateway(url) as client:
        granted = client.request(
            "PUT", f"/users/{user_id}/grants", json={"kb_ids": resolve_kbs(client, kb)}
        )
    console.print(f"Granted: {', '.join(granted['kb_ids']) or 'nothing'}")


def run() -> None:
    """Entry point of the ``ragchat`` console script."""
    app()
