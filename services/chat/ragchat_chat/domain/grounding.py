"""Grounding: deciding to decline, numbering what the answer cites, and the decline reply.

Passages are numbered 1..k in the prompt. The answer cites some of them as ``[n]``; the reader sees
them renumbered 1, 2, 3... in order of first citation, so the sources under an answer are always a
short gap-free list. :class:`CitationRenumberer` rewrites the markers while the answer streams (a
marker split across two pieces is held back until it is complete) and drops markers that name no
passage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ragchat_chat.domain.model import Citation
from ragchat_chat.providers.base import NO_ANSWER_SENTENCE, Passage

# A citation marker stands apart: "[2]" after a space or punctuation, never a subscript such as
# "pair[1]" or "x[0][1]" in quoted code.
MARKER = re.compile(r"(?<![\w\]\)'\"])\[(\d{1,3})\]")
# An unfinished marker at the end of a piece: "[", "[1", "[12".
PARTIAL_MARKER = re.compile(r"(?<![\w\]\)'\"])\[\d{0,3}$")
TAGS = re.compile(r"</?mark>")

DECLINE_TEXT = "I could not find this on the site."


def should_decline(passages: Sequence[Passage], min_score: float) -> bool:
    """Decline before asking a provider: nothing found, or the best hit is under the threshold."""
    return not passages or passages[0].score < min_score


def says_no_answer(text: str) -> bool:
    """Whether a provider's answer is its no-answer sentence (and nothing it cites)."""
    return NO_ANSWER_SENTENCE.lower().rstrip(".") in text.lower() and not MARKER.search(text)


def plain_snippet(passage: Passage) -> str:
    """The retriever's highlighted snippet without its ``<mark>`` tags, or the text's start."""
    snippet = TAGS.sub("", passage.snippet).strip()
    return snippet or passage.text.strip()[:240]


def citation_for(passage: Passage, number: int) -> Citation:
    """The citation the reader sees as ``[number]`` for a passage."""
    return Citation(
        number=number,
        chunk_id=passage.chunk_id,
        url=passage.url,
        title=passage.title,
        snippet=plain_snippet(passage),
        image_src=passage.image_src,
    )


def closest_pages(passages: Sequence[Passage], limit: int) -> list[Passage]:
    """The best passage of each of the first ``limit`` distinct pages."""
    chosen: list[Passage] = []
    for passage in passages:
        if all(p.url != passage.url for p in chosen):
            chosen.append(passage)
        if len(chosen) == limit:
            break
    return chosen


def decline_reply(pages: Sequence[Passage]) -> tuple[str, list[Citation]]:
    """The decline sentence and the closest pages as numbered citations."""
    citations = [citation_for(p, i) for i, p in enumerate(pages, start=1)]
    if not citations:
        return DECLINE_TEXT, []
    listed = "; ".join(f"{c.title or c.url} [{c.number}]" for c in citations)
    return f"{DECLINE_TEXT} The closest pages are: {listed}.", citations


@dataclass
class CitationRenumberer:
    """Rewrites prompt passage numbers to reader numbers in a streamed answer."""

    passages: Sequence[Passage]
    # Prompt number -> reader number, in order of first citation.
    numbers: dict[int, int] = field(default_factory=dict)
    _pending: str = ""

    def _replace(self, match: re.Match[str]) -> str:
        cited = int(match.group(1))
        if not any(p.number == cited for p in self.passages):
            return ""
        if cited not in self.numbers:
            self.numbers[cited] = len(self.numbers) + 1
        return f"[{self.numbers[cited]}]"

    def feed(self, piece: str) -> str:
        """The text that can be shown now; an unfinished marker waits for the next piece."""
        text = self._pending + piece
        partial = PARTIAL_MARKER.search(text)
        if partial is not None:
            self._pending = text[partial.start() :]
            text = text[: partial.start()]
        else:
            self._pending = ""
        return MARKER.sub(self._replace, text)

    def flush(self) -> str:
        """What was held back at the end of the answer."""
        text, self._pending = self._pending, ""
        return MARKER.sub(self._replace, text)

    def citations(self) -> list[Citation]:
        """The cited passages, in reader numbering."""
        by_number = {p.number: p for p in self.passages}
        return [citation_for(by_number[prompt], reader) for prompt, reader in self.numbers.items()]
