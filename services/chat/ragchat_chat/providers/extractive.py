"""The extractive provider: an answer made of the passages' own best sentences, no model.

Each sentence of the top passages is scored against the question (:mod:`.sentences`). The best
two to four sentences, back in reading order, each followed by its passage's ``[n]``, are the
answer. When no sentence covers enough of the question, the provider says it found no answer,
and chat declines.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from ragchat_chat.domain.text import estimate_tokens
from ragchat_chat.providers.base import NO_ANSWER_SENTENCE, GroundedPrompt, Passage, Usage
from ragchat_chat.providers.sentences import Sentence, score_sentences, sentences_of

# Chosen on the python3-doc question set (bench/eval.py): up to three sentences scoring at least
# 0.8 of the best one, sentences from the best one's page favoured by 0.3.
MAX_SENTENCES = 3
CLOSE_ENOUGH = 0.8
SAME_PAGE_BONUS = 0.3


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
