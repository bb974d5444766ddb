"""Who may do what: the one rules table of the platform and the decision made from it.

Every service asks ``AuthService.Authorize``, which calls :func:`authorize`; nothing else encodes
a role or scope check. A rule names the organisation roles (for users) and the API-key scopes
(for keys) that allow an action, and whether the action is on one knowledge base, in which case
the principal must also be able to reach that knowledge base:

- owners and admins reach every knowledge base of their tenant (``Principal.all_kbs``);
- editors, agents and viewers reach the knowledge bases they were granted (``kb_grants``);
- an API key reaches exactly the knowledge bases it was created for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    """Organisation-wide roles, most powerful first."""

    OWNER = "owner"
    ADMIN = "admin"
    EDITOR = "editor"
    AGENT = "agent"
    VIEWER = "viewer"


class Scope(StrEnum):
    """What an API key may be used for."""

    CHAT = "chat"
    INGEST = "ingest"
    READ = "read"


class PrincipalKind(StrEnum):
    """A person logged in, or an API key."""

    USER = "user"
    API_KEY = "api_key"


# Roles that see every knowledge base of their organisation without grants.
ALL_KB_ROLES = frozenset({Role.OWNER, Role.ADMIN})
# Roles an admin may hand out; only an owner makes or unmakes owners.
ADMIN_ASSIGNABLE_ROLES = frozenset({Role.ADMIN, Role.EDITOR, Role.AGENT, Role.VIEWER})


@dataclass(frozen=True)
class Rule:
    """Who may perform one action."""

    roles: frozenset[Role]
    scopes: frozenset[Scope] = frozenset()
    # The resource is one knowledge base the principal must be able to reach.
    on_kb: bool = False


def _rule(roles: str, scopes: str = "", on_kb: bool = False) -> Rule:
    return Rule(
        roles=frozenset(Role(r) for r in roles.split()),
        scopes=frozenset(Scope(s) for s in scopes.split()),
        on_kb=on_kb,
    )


RULES: dict[str, Rule] = {
    # Chat and what a chatting user produces.
    "chat.converse": _rule("owner admin editor agent viewer", "chat", on_kb=True),
    "feedback.write": _rule("owner admin editor agent viewer", "chat", on_kb=True),
    # Knowledge bases and their content.
    "kb.read": _rule("owner admin editor agent", "read ingest", on_kb=True),
    "kb.create": _rule("owner admin editor"),
    "kb.write": _rule("owner admin editor", on_kb=True),
    "kb.delete": _rule("owner admin editor", on_kb=True),
    "search.query": _rule("owner admin editor agent", "read", on_kb=True),
    # Crawls.
    "crawl.submit": _rule("owner admin editor", "ingest", on_kb=True),
    "crawl.read": _rule("owner admin editor agent", "ingest read", on_kb=True),
    "crawl.cancel": _rule("owner admin editor", "ingest", on_kb=True),
    # Conversations of customers, read by support agents.
    "conversations.read": _rule("owner admin agent", on_kb=True),
    "conversations.delete": _rule("owner admin", on_kb=True),
    # Analytics of the organisation.
    "analytics.read": _rule("owner admin editor"),
    # Administration of the organisation.
    "users.read": _rule("owner admin"),
    "users.manage": _rule("owner admin"),
    "grants.manage": _rule("owner admin"),
    "apikeys.manage": _rule("owner admin"),
    "audit.read": _rule("owner admin"),
    "signing_keys.rotate": _rule("owner"),
}


@dataclass(frozen=True)
class Principal:
    """Who is calling, as established from an access token or an API key."""

    subject: str
    tenant_id: str
    kind: PrincipalKind
    role: str = ""
    readable_kb_ids: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    all_kbs: bool = False
    # The email of a user or the name of a key, for the audit log.
    label: str = field(default="", compare=False)

    def can_reach(self, kb_id: str) -> bool:
        """Whether this principal may use knowledge base ``kb_id`` at all."""
        return self.all_kbs or kb_id in self.readable_kb_ids


@dataclass(frozen=True)
class Decision:
    """The answer to an authorisation question; ``reason`` says why when refused."""

    allowed: bool
    reason: str = ""


ALLOWED = Decision(True)


def authorize(principal: Principal, action: str, resource_type: str, resource_id: str) -> Decision:
    """Decide whether ``principal`` may perform ``action`` on the resource, from :data:`RULES`.

    An unknown action is refused (never allowed by default). A knowledge-base action needs the
    resource to be that knowledge base (``resource_type == "kb"`` and its id).
    """
    rule = RULES.get(action)
    if rule is None:
        return Decision(False, f"unknown action {action!r}")
    if not principal.tenant_id:
        return Decision(False, "principal has no organisation")
    if principal.kind is PrincipalKind.API_KEY:
        # StrEnum members compare and hash equal to their string values.
        if not rule.scopes & principal.scopes:
            return Decision(
                False, f"API key scopes {sorted(principal.scopes)} do not allow {action}"
            )
    elif principal.role not in rule.roles:
        return Decision(False, f"role {principal.role or 'none'!r} may not {action}")
    if rule.on_kb:
        if resource_type != "kb" or not resource_id:
            return Decision(False, f"{action} needs a knowledge base as its resource")
        if not principal.can_reach(resource_id):
            return Decision(False, f"no access to knowledge base {resource_id}")
    return ALLOWED


def role_allows(role: str, action: str) -> bool:
    """Whether the role alone allows ``action`` (used for the admin checks inside auth)."""
    rule = RULES.get(action)
    return rule is not None and role in rule.roles
