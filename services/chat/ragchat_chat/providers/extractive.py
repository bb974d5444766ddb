"""The extractive provider: an answer made of the passages' own best sentences, no model.

Each sentence of the top passages is scored by the share of the question's meaningful words it
holds (stemmed, each weighted by how rare it is among the candidate sentences), with a small bonus
for passages the retriever ranked higher. The best two to four
sentences, back in reading order, each followed by its passage's ``[n]``, are the answer. When no
sentence covers enough of the question, the provider says it found no answer, and chat declines.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from ragchat_chat.domain.grounding import MARKER
from ragchat_chat.domain.text import content_terms, estimate_tokens, stem
from ragchat_chat.providers.base import NO_ANSWER_SENTENCE, GroundedPrompt, Passage, Usage

SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(`])|\n+|\s+(?=>>> )")
CLAUSE = re.compile(r"(?<=[;:])\s+")
MIN_SENTENCE_CHARS = 25
MAX_SENTENCE_CHARS = 400
# Chosen on the python3-doc question set (bench/eval.py): up to three sentences scoring at least
# 0.8 of the best one, sentences from the best one's page favoured by 0.3.
MAX_SENTENCES = 3
CLOSE_ENOUGH = 0.8
SAME_PAGE_BONUS = 0.3


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


def choose(scored: list[Sentence], max_sentences: int) -> list[Sentence]:
    """The best sentence and those close to it, without repeats, in reading order.

    A sentence from the best sentence's page counts as closer (``SAME_PAGE_BONUS``): an answer
    that stays on one page cites fewer pages that do not hold it. When only the best sentence
    qualifies, the sentence after it on its passage joins it for context.
    """
    best = scored[0]
    chosen = [best]
    for candidate in scored[1:]:
        if len(chosen) == max_sentences:
            break
        bonus = SAME_PAGE_BONUS if candidate.passage.url == best.passage.url else 0.0
        if candidate.score + bonus < best.score * CLOSE_ENOUGH or any(
            c.text == candidate.text for c in chosen
        ):
            continue
        chosen.append(candidate)
    if len(chosen) == 1:
        following = sentences_of(best.passage)[best.position + 1 : best.position + 2]
        chosen += [Sentence(text, best.passage, best.position + 1, 0.0, 0.0) for text in following]
    return sorted(chosen, key=lambda s: (s.passage.number, s.position))


def compose(question: str, passages: tuple[Passage, ...], min_coverage: float) -> str:
    """The answer text: chosen sentences with their markers, or the no-answer sentence."""
    scored = score_sentences(question, passages)
    if not scored or scored[0].coverage < min_coverage:
        return NO_ANSWER_SENTENCE
    return " ".join(f"{s.text} [{s.passage.number}]" for s in choose(scored, MAX_SENTENCES))


class ExtractiveProvider:
    """Answers with the passages' own sentences; needs no model and no network."""

    name = "extractive"

    def __init__(self, min_coverage: float = 0.4) -> None:
        self.min_coverage = min_coverage

    async def stream(self, prompt: GroundedPrompt, usage: Usage) -> AsyncIterator[str]:
        """The composed answer, word by word."""
        answer = compose(prompt.standalone_question, prompt.passages, self.min_coverage)
        usage.prompt_tokens = estimate_tokens(prompt.passages_block())
        usage.completion_tokens = estimate_tokens(answer)
        for index, word in enumerate(answer.split(" ")):
            yield word if index == 0 else f" {word}"
            # Hand the loop back between words so one long answer never starves other calls.
            await asyncio.sleep(0)

    async def aclose(self) -> None:
        """Nothing to release."""
