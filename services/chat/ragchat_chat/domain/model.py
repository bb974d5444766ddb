"""The values chat passes between its parts: citations, answers and turn timings."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Citation:
    """A source the answer cites as ``[number]``."""

    number: int
    chunk_id: str
    url: str
    title: str
    snippet: str = ""
    image_src: str = ""

    def to_json(self) -> dict[str, Any]:
        """The citation as stored in a message's JSON column and in the answer cache."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Citation:
        """Read back what :meth:`to_json` wrote."""
        return cls(
            number=int(data["number"]),
            chunk_id=str(data["chunk_id"]),
            url=str(data["url"]),
            title=str(data.get("title", "")),
            snippet=str(data.get("snippet", "")),
            image_src=str(data.get("image_src", "")),
        )


@dataclass(frozen=True)
class TurnTimings:
    """How long one turn took, in milliseconds from the request's arrival."""

    retrieval_ms: float
    first_token_ms: float
    total_ms: float


@dataclass(frozen=True)
class Answer:
    """An assistant reply as stored and cached: its text, sources and how it was produced."""

    text: str
    citations: tuple[Citation, ...]
    declined: bool
    provider: str
    prompt_tokens: int
    completion_tokens: int
    # The client stopped the stream: ``text`` is the part it was sent (never cached).
    stopped: bool = False
