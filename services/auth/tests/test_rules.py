"""The rules table decides every cell of the role and scope matrices, and kb reach on top."""

import pytest
from ragchat_auth.domain.rules import (
    RULES,
    Principal,
    PrincipalKind,
    Role,
    Scope,
    authorize,
)

pytestmark = pytest.mark.unit

KB_A, KB_B = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"


def user(role: Role, kbs: frozenset[str] = frozenset({KB_A})) -> Principal:
    return Principal(
        subject="u1",
        tenant_id="t1",
        kind=PrincipalKind.USER,
        role=role.value,
        readable_kb_ids=kbs,
        all_kbs=role in {Role.OWNER, Role.ADMIN},
    )


def key(scope: Scope) -> Principal:
    return Principal(
        subject="k1",
        tenant_id="t1",
        kind=PrincipalKind.API_KEY,
        readable_kb_ids=frozenset({KB_A}),
        scopes=frozenset({scope.value}),
    )


def resource(action: str) -> tuple[str, str]:
    return ("kb", KB_A) if RULES[action].on_kb else ("", "")


ROLE_MATRIX = [(role, action) for role in Role for action in RULES]
SCOPE_MATRIX = [(scope, action) for scope in Scope for action in RULES]


@pytest.mark.parametrize(("role", "action"), ROLE_MATRIX)
def test_every_role_and_action_is_decided_by_the_table(role: Role, action: str) -> None:
    decision = authorize(user(role), action, *resource(action))
    assert decision.allowed is (role in RULES[action].roles), decision.reason


@pytest.mark.parametrize(("scope", "action"), SCOPE_MATRIX)
def test_every_key_scope_and_action_is_decided_by_the_table(scope: Scope, action: str) -> None:
    decision = authorize(key(scope), action, *resource(action))
    assert decision.allowed is (scope in RULES[action].scopes), decision.reason


def test_the_matrices_contain_both_answers() -> None:
    """A table that allowed or refused everything would pass the cell checks trivially."""
    cells = {authorize(user(r), a, *resource(a)).allowed for r, a in ROLE_MATRIX}
    assert cells == {True, False}
    assert authorize(user(Role.VIEWER), "chat.converse", "kb", KB_A).allowed
    assert not authorize(user(Role.VIEWER), "kb.read", "kb", KB_A).allowed
    assert not authorize(user(Role.ADMIN), "signing_keys.rotate", "", "").allowed


@pytest.mark.parametrize("action", [a for a, rule in RULES.items() if rule.on_kb])
def test_kb_actions_need_reach_to_that_kb(action: str) -> None:
    editor = user(Role.OWNER if Role.EDITOR not in RULES[action].roles else Role.EDITOR)
    assert authorize(editor, action, "kb", KB_A).allowed
    if not editor.all_kbs:
        refused = authorize(editor, action, "kb", KB_B)
        assert not refused.allowed
        assert KB_B in refused.reason
    assert not authorize(editor, action, "", "").allowed


def test_owners_and_admins_reach_every_kb_of_their_tenant() -> None:
    admin = user(Role.ADMIN, frozenset())
    assert authorize(admin, "kb.delete", "kb", KB_B).allowed


def test_api_keys_reach_only_their_kbs() -> None:
    ingest = key(Scope.INGEST)
    assert authorize(ingest, "crawl.submit", "kb", KB_A).allowed
    assert not authorize(ingest, "crawl.submit", "kb", KB_B).allowed


def test_unknown_actions_and_principals_without_tenant_are_refused() -> None:
    assert (
        authorize(user(Role.OWNER), "kb.explode", "kb", KB_A).reason
        == "unknown action 'kb.explode'"
    )
    orphan = Principal(subject="u", tenant_id="", kind=PrincipalKind.USER, role="owner")
    assert not authorize(orphan, "users.read", "", "").allowed
