"""Chat answers from a crawled site: the real scraper, embedder, retriever and chat processes on
real Kafka, OpenSearch, PostgreSQL and Redis (``running_stack``, names of this test's own).

Three pages of the widgets site are crawled into a knowledge base; then, over chat's gRPC API
with the extractive provider: an answer cites the page that holds it, a follow-up is searched with
the previous question's topic, a question the site cannot answer is declined, a repeated first
question comes from the answer cache until a new crawl changes the knowledge base, and a
knowledge base outside the principal's is refused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import grpc
import pytest
from ragchat.v1 import chat_pb2, chat_pb2_grpc, principal_pb2
from ragchat_common.events import CrawlMode, CrawlScope, CrawlState, UrlSubmitted

from tests.harness.pipeline import Infrastructure, IngestionPipeline, running_stack
from tests.harness.sites import WidgetsSite

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

WITHIN_S = 300.0


@pytest.fixture(scope="module")
async def site() -> AsyncIterator[WidgetsSite]:
    widgets = WidgetsSite()
    await widgets.start()
    try:
        yield widgets
    finally:
        await widgets.stop()


@pytest.fixture(scope="module")
async def stack(
    infra: Infrastructure,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[IngestionPipeline]:
    async with running_stack(
        infra,
        uuid4().hex[:10],
        tmp_path_factory.mktemp("chat-stack"),
        env={"chat": {"CHAT_PROVIDER": "extractive"}},
        only=("scraper", "embedder", "retriever", "chat"),
    ) as running:
        yield running


async def crawl(stack: IngestionPipeline, tenant: UUID, kb_id: UUID, urls: list[str]) -> None:
    """Crawl ``urls`` into the knowledge base and wait until they are searchable."""
    crawl_id = uuid4()
    await stack.submit(
        UrlSubmitted(
            crawl_id=crawl_id,
            kb_id=kb_id,
            tenant_id=tenant,
            urls=urls,
            mode=CrawlMode.LIST,
            scope=CrawlScope(max_pages=10),
            submitted_by="e2e",
        )
    )
    progress = await stack.crawl_end(crawl_id, WITHIN_S)
    assert progress.state is CrawlState.DONE
    await stack.settle(WITHIN_S)
    await stack.refresh()


async def ask(
    stub: chat_pb2_grpc.ChatServiceStub,
    who: principal_pb2.Principal,
    message: str,
    kb_id: UUID,
    conversation_id: str = "",
) -> tuple[str, list[chat_pb2.Citation], chat_pb2.TurnSummary]:
    """One turn: its text, citations and summary."""
    events = [
        e
        async for e in stub.Converse(
            chat_pb2.ConverseRequest(
                principal=who,
                kb_ids=[str(kb_id)],
                message=message,
                conversation_id=conversation_id,
            )
        )
    ]
    text = "".join(e.token for e in events if e.WhichOneof("event") == "token")
    cited = [e.citation for e in events if e.WhichOneof("event") == "citation"]
    assert events[-1].WhichOneof("event") == "summary"
    return text, cited, events[-1].summary


async def test_chat_answers_from_the_crawled_site(
    stack: IngestionPipeline, site: WidgetsSite
) -> None:
    tenant, kb_id = uuid4(), uuid4()
    await crawl(
        stack,
        tenant,
        kb_id,
        [site.url("/moved.html"), site.url("/about.html"), site.url("/orphan.html")],
    )
    who = principal_pb2.Principal(
        subject="visitor",
        tenant_id=str(tenant),
        kind=principal_pb2.PRINCIPAL_KIND_USER,
        role="viewer",
        readable_kb_ids=[str(kb_id)],
    )
    channel = grpc.aio.insecure_channel(stack.grpc_target("chat"))
    stub = chat_pb2_grpc.ChatServiceStub(channel)  # type: ignore[no-untyped-call]
    try:
        text, cited, done = await ask(stub, who, "How long is the warranty on a widget?", kb_id)
        assert not done.declined and done.provider == "extractive"
        assert "two years" in text and "[1]" in text
        assert cited[0].url == site.url("/orphan.html")

        returns, cited, first = await ask(stub, who, "Can I send a widget back?", kb_id)
        assert cited[0].url == site.url("/moved.html")
        _, cited, follow_up = await ask(
            stub, who, "Within how many days?", kb_id, first.conversation_id
        )
        assert follow_up.conversation_id == first.conversation_id
        assert cited and cited[0].url == site.url("/moved.html")

        declined_text, _, declined = await ask(
            stub, who, "Do you deliver to Mars by rocket?", kb_id
        )
        assert declined.declined
        assert declined_text.startswith("I could not find this on the site.")

        again, _, cached = await ask(stub, who, "Can I send a widget back?", kb_id)
        assert cached.provider == "cached:extractive" and again == returns

        await crawl(stack, tenant, kb_id, [site.url("/handbook.html")])
        _, _, fresh = await ask(stub, who, "Can I send a widget back?", kb_id)
        assert fresh.provider == "extractive", "a crawl that changed the kb invalidates the cache"

        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await ask(stub, who, "How long is the warranty on a widget?", uuid4())
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        await channel.close()
