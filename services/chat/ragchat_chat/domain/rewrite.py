"""Turning a follow-up question into a standalone search query.

Without a model the heuristic is: a question that refers back (``it``, ``that``, ``those``...),
starts as a continuation (``and``, ``what about``) or is a bare phrase of at most three words is
a follow-up; the meaningful words of the previous question that it does not already hold are
added to it. Search ranks on words and meaning, so the added terms bring back the topic the
follow-up left implicit.
"""

from __future__ import annotations

from collections.abc import Sequence

from ragchat_chat.domain.text import REFERRING_WORDS, STOP_WORDS, content_terms, words
from ragchat_chat.providers.base import Turn

CONTINUATIONS = ("and ", "what about", "how about", "also ", "but ", "so ", "then ", "why not")


def is_follow_up(question: str) -> bool:
    """Whether the question leans on what was said before."""
    lowered = question.strip().lower()
    tokens = words(lowered)
    if any(lowered.startswith(c) for c in CONTINUATIONS):
        return True
    if any(t in REFERRING_WORDS for t in tokens):
        return True
    # A bare "Examples?" or "On Windows?" only makes sense after the previous question.
    return len(content_terms(question)) < 2 and len(tokens) <= 3


def topic_words(text: str) -> list[str]:
    """The meaningful words of a question, unstemmed, first occurrence only."""
    seen: list[str] = []
    for w in words(text):
        if w not in STOP_WORDS and len(w) > 1 and w not in seen and w not in REFERRING_WORDS:
            seen.append(w)
    return seen


def rewrite_heuristically(question: str, history: Sequence[Turn]) -> str:
    """The question, completed with the previous question's topic words when it is a follow-up."""
    if not history or not is_follow_up(question):
        return question
    present = set(content_terms(question))
    previous = history[-1].question
    missing = [w for w in topic_words(previous) if not present.intersection(content_terms(w))]
    if not missing:
        return question
    return f"{question.strip()} ({' '.join(missing)})"
