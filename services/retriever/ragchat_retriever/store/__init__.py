"""The retriever's OpenSearch client."""

from opensearchpy import AsyncOpenSearch
from ragchat_common.health import Probe
from ragchat_common.settings import OpenSearchSettings


def create_opensearch(settings: OpenSearchSettings) -> AsyncOpenSearch:
    """An async OpenSearch client for the configured cluster."""
    return AsyncOpenSearch(hosts=[settings.url], timeout=10)


def opensearch_probe(client: AsyncOpenSearch) -> Probe:
    """Readiness probe: the cluster is at least yellow; the detail gives its status."""

    async def probe() -> str | None:
        health = await client.cluster.health()
        if health["status"] == "red":
            raise ConnectionError("cluster status red")
        return f"cluster status {health['status']}"

    return probe
