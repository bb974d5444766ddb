"""Sentences of passages scored against a question.

Shared by the extractive provider (its answer is the best sentences) and the local model's prompt
(its context is the best sentences, so a small CPU model reads a few dozen tokens, not pages).

Each sentence of the passages is scored by the share of the question's meaningful words it holds
(stemmed, each weighted by how rare it is among the candidate sentences), with a small bonus for
passages the retriever ranked higher and for earlier sentences.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ragchat_chat.domain.grounding import MARKER
from ragchat_chat.domain.text import content_terms, stem
from ragchat_chat.providers.base import Passage

SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(`])|\n+|\s+(?=>>> )")
CLAUSE = re.compile(r"(?<=[;:])\s+")
MIN_SENTENCE_CHARS = 25
MAX_SENTENCE_CHARS = 400


@dataclass(frozen=True)
class Sentence:
    """A candidate sentence and where it came from."""

    text: str
    passage: Passage
    position: int
    coverage: float
    score: float


def sentences_of(passage: Passage) -> list[str]:
    """The passage's sentences of a readable length, whitespace folded.

    Indexed text has its line breaks folded, so interactive examples (``>>>``) start new
    sentences too; a run still too long is cut at clause marks and then at a word boundary, so a
    long code example can still answer a question about a name in it.
    """
    out = []
    for raw in SENTENCE_SPLIT.split(passage.text):
        sentence = " ".join(raw.split())
        pieces = [sentence] if len(sentence) <= MAX_SENTENCE_CHARS else CLAUSE.split(sentence)
        for piece in pieces:
            if len(piece) > MAX_SENTENCE_CHARS:
                piece = piece[:MAX_SENTENCE_CHARS].rsplit(" ", 1)[0] + " …"
            # A sentence holding something that reads as a citation ("x = [1]") would cite
            # the wrong passage once followed by its own marker.
            if len(piece) >= MIN_SENTENCE_CHARS and not MARKER.search(piece):
                out.append(piece)
    return out


def score_sentences(question: str, passages: tuple[Passage, ...]) -> list[Sentence]:
    """Every candidate sentence with its (weighted) share of the question's words, best first.

    A word is worth more the fewer candidate sentences hold it (inverse document frequency over
    the passages), so "canada" in "How long does shipping to Canada take?" outweighs "long" and
    "take", and a sentence that only shares the question's common words covers little of it.
    """
    wanted = set(content_terms(question))
    if not wanted:
        return []
    candidates = [
        (rank, passage, position, text, set(sentence_terms(text)))
        for rank, passage in enumerate(passages)
        for position, text in enumerate(sentences_of(passage))
    ]
    count = len(candidates)
    weight = {
        term: math.log(1 + (count + 1) / (1 + sum(term in c[4] for c in candidates)))
        for term in wanted
    }
    total = sum(weight.values())
    scored = []
    for rank, passage, position, text, terms in candidates:
        found = wanted & terms
        if not found:
            continue
        coverage = sum(weight[t] for t in found) / total
        # Rank and position break ties: higher-ranked passages, earlier sentences.
        score = coverage + 0.1 / (rank + 1) + 0.02 / (position + 1)
        scored.append(Sentence(text, passage, position, coverage, score))
    scored.sort(key=lambda s: s.score, reverse=True)
    return scored


def sentence_terms(text: str) -> list[str]:
    """A sentence's terms, dotted names also by their parts (``weakref.WeakValueDictionary``)."""
    terms = content_terms(text)
    return terms + [stem(part) for t in terms if "." in t for part in t.split(".") if part]
