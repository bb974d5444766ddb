"""A conversation's memory: the recent turns that fit a token budget, and a summary of the rest.

The summary is built without a model: the earlier questions in order and the first sentence of
each answer, trimmed to what is left of the budget. It keeps the topic of a long conversation in
the prompt at a fixed cost.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ragchat_chat.domain.text import estimate_tokens
from ragchat_chat.providers.base import Turn

CITATION_MARK = re.compile(r"\s*\[\d+\]")
SENTENCE_END = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True)
class Memory:
    """What the prompt carries of the conversation so far."""

    turns: tuple[Turn, ...]
    summary: str


def first_sentence(text: str) -> str:
    """The first sentence of an answer, without its citation marks."""
    plain = CITATION_MARK.sub("", text).strip()
    return SENTENCE_END.split(plain, maxsplit=1)[0] if plain else ""


def summarise(turns: Sequence[Turn], token_budget: int) -> str:
    """Older turns as one line each (question, then the answer's gist), within ``token_budget``."""
    lines: list[str] = []
    used = 0
    # Newest of the old turns first, so the budget keeps what is closest to now.
    for turn in reversed(turns):
        line = f"Asked: {turn.question.strip()} Answer: {first_sentence(turn.answer)}"
        cost = estimate_tokens(line)
        if used + cost > token_budget:
            break
        lines.append(line)
        used += cost
    return " | ".join(reversed(lines))


def fit_memory(turns: Sequence[Turn], token_budget: int, max_verbatim: int = 6) -> Memory:
    """Keep the newest turns verbatim (at most ``max_verbatim``, within three quarters of the
    budget); summarise the older ones in what is left."""
    verbatim_budget = token_budget * 3 // 4
    kept: list[Turn] = []
    used = 0
    for turn in reversed(turns):
        cost = estimate_tokens(turn.question) + estimate_tokens(turn.answer)
        if used + cost > verbatim_budget or len(kept) == max_verbatim:
            break
        kept.append(turn)
        used += cost
    kept.reverse()
    older = turns[: len(turns) - len(kept)]
    summary = summarise(older, token_budget - used) if older else ""
    return Memory(turns=tuple(kept), summary=summary)
