"""Rules of answering without infrastructure: citation renumbering while streaming, the
extractive answer, follow-up detection and rewriting, and memory within a token budget."""

from __future__ import annotations

import pytest
from ragchat_chat.domain.grounding import (
    CitationRenumberer,
    closest_pages,
    decline_reply,
    says_no_answer,
    should_decline,
)
from ragchat_chat.domain.memory import fit_memory
from ragchat_chat.domain.rewrite import is_follow_up, rewrite_heuristically
from ragchat_chat.domain.text import estimate_tokens, normalise_question
from ragchat_chat.providers.base import NO_ANSWER_SENTENCE, Passage, Turn
from ragchat_chat.providers.extractive import compose

pytestmark = pytest.mark.unit


def passage(number: int, url: str = "", text: str = "", score: float = 0.02) -> Passage:
    return Passage(
        number=number,
        chunk_id=f"c{number}",
        url=url or f"https://site.test/{number}",
        title=f"Page {number}",
        text=text,
        snippet=f"<mark>snippet</mark> {number}",
        score=score,
    )


def test_citations_are_renumbered_in_order_of_first_use_even_when_split() -> None:
    renumberer = CitationRenumberer([passage(n) for n in range(1, 6)])

    pieces = ["Use pip [", "4", "]. Or venv [2", "] and again [4]", "[9] end [", "3"]
    shown = "".join(renumberer.feed(p) for p in pieces) + renumberer.flush()

    assert shown == "Use pip [1]. Or venv [2] and again [1] end [3"
    assert [(c.number, c.chunk_id) for c in renumberer.citations()] == [(1, "c4"), (2, "c2")]
    assert renumberer.citations()[0].snippet == "snippet 4"


def test_subscripts_in_quoted_code_are_not_citations() -> None:
    renumberer = CitationRenumberer([passage(n) for n in range(1, 4)])

    pieces = ["Sort with key=lambda pair: pair[", "1] as shown [3]. Nested x[0][1] and ", "[2]."]
    shown = "".join(renumberer.feed(p) for p in pieces) + renumberer.flush()

    assert shown == "Sort with key=lambda pair: pair[1] as shown [1]. Nested x[0][1] and [2]."
    assert [c.chunk_id for c in renumberer.citations()] == ["c3", "c2"]


def test_decline_rules() -> None:
    assert should_decline([], 0.0)
    assert should_decline([passage(1, score=0.01)], 0.02)
    assert not should_decline([passage(1, score=0.03)], 0.02)
    assert says_no_answer(NO_ANSWER_SENTENCE)
    assert not says_no_answer("I could not find this on the site, but [1] says so.")

    pages = closest_pages([passage(1, url="a"), passage(2, url="a"), passage(3, url="b")], 3)
    assert [p.number for p in pages] == [1, 3]
    text, cited = decline_reply(pages)
    assert (
        text == "I could not find this on the site. The closest pages are: Page 1 [1]; Page 3 [2]."
    )
    assert [c.number for c in cited] == [1, 2]


def test_extractive_answer_quotes_the_best_sentences_with_their_passages() -> None:
    passages = (
        passage(
            1, text="Pip installs packages. To upgrade pip itself, run pip install -U pip now."
        ),
        passage(
            2,
            text="The weather is nice in the garden. Upgrade pip from time to time to stay safe.",
        ),
    )

    answer = compose("How do I upgrade pip?", passages, min_coverage=0.5)

    assert answer == (
        "To upgrade pip itself, run pip install -U pip now. [1] "
        "Upgrade pip from time to time to stay safe. [2]"
    )
    assert compose("What does the licence cost?", passages, 0.5) == NO_ANSWER_SENTENCE


def test_follow_ups_are_completed_with_the_previous_topic() -> None:
    history = [Turn("How do I install a package with pip?", "Run pip install [1].")]

    assert is_follow_up("And how do I upgrade it?")
    assert is_follow_up("Examples?")
    assert not is_follow_up("How do I create a virtual environment?")
    assert rewrite_heuristically("And how do I upgrade it?", history) == (
        "And how do I upgrade it? (install package pip)"
    )
    assert rewrite_heuristically("How do I create a virtual environment?", history) == (
        "How do I create a virtual environment?"
    )
    assert rewrite_heuristically("And how do I upgrade it?", []) == "And how do I upgrade it?"


def test_long_conversations_keep_recent_turns_and_summarise_the_rest() -> None:
    turns = [
        Turn(f"Question number {i} about topic {i}?", "Answer sentence. " * 40) for i in range(8)
    ]

    memory = fit_memory(turns, token_budget=600)

    kept = sum(estimate_tokens(t.question) + estimate_tokens(t.answer) for t in memory.turns)
    assert 0 < len(memory.turns) < len(turns)
    assert kept <= 450
    assert memory.turns[-1] == turns[-1]
    assert "Question number 0" in memory.summary or "Question number 1" in memory.summary
    older = len(turns) - len(memory.turns)
    assert f"Question number {older - 1} about topic" in memory.summary
    assert estimate_tokens(memory.summary) <= 600 - kept
    assert fit_memory(turns[:1], 600).summary == ""
    short = [Turn(f"Question {i}?", "Yes.") for i in range(10)]
    capped = fit_memory(short, token_budget=600, max_verbatim=3)
    assert capped.turns == tuple(short[-3:])
    assert capped.summary.startswith("Asked: Question 0?")


def test_cache_questions_are_normalised() -> None:
    assert normalise_question("  How do I upgrade PIP?? ") == normalise_question(
        "how do i upgrade pip"
    )
