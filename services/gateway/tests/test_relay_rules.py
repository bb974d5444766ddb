"""The relay's decisions that need no server: which knowledge bases a turn uses, how ChatService
events and errors become frames, which events a socket may see, and the ``Retry-After`` value."""

from __future__ import annotations

import grpc
import pytest
from ragchat.v1 import chat_pb2, principal_pb2
from ragchat_gateway.api.ws_chat import parse_ask
from ragchat_gateway.domain.chat_relay import (
    KnowledgeBaseForbidden,
    NoKnowledgeBase,
    choose_kb_ids,
    explicit_principal,
    frame_of,
    frame_of_rpc_error,
)
from ragchat_gateway.domain.event_relay import EventFilter, tenant_channel
from ragchat_gateway.domain.rate_limits import LimitScope, principal_scope, retry_after

pytestmark = pytest.mark.unit


def test_requested_kbs_must_all_be_readable() -> None:
    assert choose_kb_ids(["a", "a"], ["a", "b"]) == ["a"]
    with pytest.raises(KnowledgeBaseForbidden) as refused:
        choose_kb_ids(["a", "c", "d"], ["a", "b"])
    assert refused.value.kb_ids == ["c", "d"]


def test_no_request_means_every_readable_kb_and_none_readable_is_refused() -> None:
    assert choose_kb_ids([], ["b", "a"]) == ["a", "b"]
    with pytest.raises(NoKnowledgeBase):
        choose_kb_ids([], [])


def test_principal_goes_downstream_with_explicit_kb_ids() -> None:
    owner = principal_pb2.Principal(subject="u1", tenant_id="t1", all_kbs=True)
    spelled = explicit_principal(owner, ["k2", "k1"])
    assert list(spelled.readable_kb_ids) == ["k1", "k2"]
    assert spelled.all_kbs and spelled.subject == "u1"
    assert not owner.readable_kb_ids


def test_chat_events_become_contract_frames() -> None:
    token = frame_of(chat_pb2.ConverseEvent(token="Hi"))
    assert token is not None and (token.kind, token.data) == ("token", {"text": "Hi"})
    citation = frame_of(
        chat_pb2.ConverseEvent(citation=chat_pb2.Citation(number=2, url="https://x.test/"))
    )
    assert citation is not None and citation.kind == "citation"
    assert set(citation.data) == {"number", "chunk_id", "url", "title", "snippet", "image_src"}
    summary = frame_of(
        chat_pb2.ConverseEvent(summary=chat_pb2.TurnSummary(conversation_id="c", declined=True))
    )
    assert summary is not None and summary.data["declined"] is True
    assert frame_of(chat_pb2.ConverseEvent()) is None


class _Failed(grpc.aio.AioRpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


def test_rpc_errors_keep_user_facing_reasons_and_hide_internals() -> None:
    refused = frame_of_rpc_error(_Failed(grpc.StatusCode.PERMISSION_DENIED, "no access to kb x"))
    assert refused.data == {"code": "forbidden", "message": "no access to kb x"}
    crashed = frame_of_rpc_error(_Failed(grpc.StatusCode.INTERNAL, "KeyError at line 12"))
    assert crashed.data["code"] == "internal" and "KeyError" not in crashed.data["message"]


def test_event_filter_keeps_the_tenant_and_its_readable_kbs() -> None:
    agent = EventFilter(tenant_id="t1", readable_kb_ids=frozenset({"a"}))
    owner = EventFilter(tenant_id="t1", all_kbs=True)
    assert agent.allows({"tenant_id": "t1", "kb_id": "a"})
    assert not agent.allows({"tenant_id": "t1", "kb_id": "b"})
    assert owner.allows({"tenant_id": "t1", "kb_id": "b"})
    assert not owner.allows({"tenant_id": "t2", "kb_id": "a"})
    assert tenant_channel("t1") == "gateway:events:t1"


def test_ask_frames_are_validated() -> None:
    ask = parse_ask({"type": "ask", "message": "Hi", "kb_ids": ["a"], "conversation_id": "c"})
    assert (ask.message, ask.kb_ids, ask.conversation_id) == ("Hi", ("a",), "c")
    for bad in ({"message": " "}, {"message": "x" * 5000}, {"message": "Hi", "kb_ids": "a"}):
        with pytest.raises(ValueError):
            parse_ask(bad)


def test_budgets_and_retry_after() -> None:
    key = principal_pb2.Principal(kind=principal_pb2.PRINCIPAL_KIND_API_KEY)
    user = principal_pb2.Principal(kind=principal_pb2.PRINCIPAL_KIND_USER)
    assert principal_scope(key) is LimitScope.API_KEY
    assert principal_scope(user) is LimitScope.USER
    assert retry_after(100.2, 100.0) == 1
    assert retry_after(130.0, 100.5) == 30
