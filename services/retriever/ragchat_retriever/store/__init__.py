"""The retriever's OpenSearch client and the chunks index (:mod:`.index`, :mod:`.chunks`)."""

from opensearchpy import AsyncOpenSearch
from ragchat_common.health import Probe
from ragchat_common.settings import OpenSearchSettings


def create_opensearch(settings: OpenSearchSettings, timeout_s: float = 10.0) -> AsyncOpenSearch:
    """An async OpenSearch client for the configured cluster; requests time out after
    ``timeout_s`` (a bulk request includes a refresh, so allow it a few seconds)."""
    return AsyncOpenSearch(hosts=[settings.url], timeout=timeout_s)


def opensearch_probe(client: AsyncOpenSearch) -> Probe:
    """Readiness probe: the cluster is at least yellow; the detail gives its status."""

    async def probe() -> str | None:
        health = await client.cluster.health()
        if health["status"] == "red":
            raise ConnectionError("cluster status red")
        return f"cluster status {health['status']}"

    return probe
