"""The local provider with the real Gemma 3 270M model in llama.cpp (offline, about 1 s to load).

The model is assembled from the PyPI package into the default cache folder once per machine and
loaded once for this module.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from ragchat_chat.providers.base import NO_ANSWER_SENTENCE, GroundedPrompt, Passage, Usage
from ragchat_chat.providers.local_gguf import (
    PROMPT_PREFIX,
    CompletionModel,
    LocalGgufProvider,
    attributed_passage,
    compact_context,
    completion_prompt,
    load_llama,
    model_file,
)
from ragchat_chat.settings import LocalModelSettings

pytestmark = pytest.mark.unit

VENV = Passage(
    number=1,
    chunk_id="c1",
    url="https://docs.example/tutorial/venv.html",
    title="12. Virtual Environments and Packages",
    text=(
        "To create a virtual environment, decide upon a directory where you want to place it, "
        "and run the venv module as a script with the directory path: python3 -m venv "
        "tutorial-env. This will create the tutorial-env directory if it doesn't exist."
    ),
)
SETS = Passage(
    number=2,
    chunk_id="c2",
    url="https://docs.example/tutorial/datastructures.html",
    title="5.4. Sets",
    text="Curly braces or the set() function can be used to create sets. To create an empty set "
    "you have to use set(), not {}; the latter creates an empty dictionary.",
)


def question(text: str, *passages: Passage) -> GroundedPrompt:
    return GroundedPrompt(question=text, standalone_question=text, passages=passages)


class CountingLoader:
    """The real loader, counting how often the provider calls it."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, path: Path, settings: LocalModelSettings) -> CompletionModel:
        self.calls += 1
        return load_llama(path, settings)


@pytest.fixture(scope="module")
def loader() -> CountingLoader:
    return CountingLoader()


@pytest.fixture(scope="module")
async def provider(loader: CountingLoader) -> AsyncIterator[LocalGgufProvider]:
    local = LocalGgufProvider(LocalModelSettings(max_tokens=48), loader)
    try:
        yield local
    finally:
        await local.aclose()


async def answer(provider: LocalGgufProvider, prompt: GroundedPrompt) -> tuple[str, Usage]:
    usage = Usage()
    text = "".join([piece async for piece in provider.stream(prompt, usage)])
    return text, usage


def words(text: str) -> int:
    """A token count for prompt tests: one per word."""
    return len(text.split())


def test_prompt_is_the_constant_part_the_standalone_question_its_context_then_answer() -> None:
    prompt = GroundedPrompt(
        question="and on Windows?",
        standalone_question="How do I create a virtual environment on Windows?",
        passages=(VENV, SETS),
    )
    context = compact_context(prompt.standalone_question, prompt.passages, 40, words)
    text = completion_prompt(context, prompt.standalone_question)
    assert text.startswith(PROMPT_PREFIX), "llama.cpp reuses the evaluated constant part"
    assert text.endswith(
        f"Question: {prompt.standalone_question}\nContext:\n{context.text}\nAnswer:"
    )
    assert "and on Windows?" not in text


def test_context_quotes_the_most_relevant_sentences_under_their_own_numbers() -> None:
    context = compact_context("How do I create an empty set?", (VENV, SETS), 30, words)
    assert context.text == (
        "[2] To create an empty set you have to use set(), not {}; "
        "the latter creates an empty dictionary."
    )
    assert [p.number for p in context.passages] == [2]
    assert context.passages[0].url == SETS.url

    both = "How do I create sets, such as an empty set, in a virtual environment?"
    lines = compact_context(both, (VENV, SETS), 200, words).text.splitlines()
    assert [line[:3] for line in lines] == ["[1]", "[2]"], "passages in rank order"
    assert lines[1].startswith("[2] Curly braces"), "sentences in reading order"
    assert "empty dictionary" in lines[1]


def test_a_sentence_over_the_budget_is_cut_to_it() -> None:
    context = compact_context("How do I create a virtual environment?", (VENV,), 12, words)
    assert context.text.startswith("[1] To create a virtual environment")
    assert context.text.endswith(" ...")
    assert len(context.text) < len(VENV.text) / 2


def test_an_uncited_answer_is_attributed_to_the_passage_sharing_most_words() -> None:
    assert attributed_passage("Use set() to create an empty set.", (VENV, SETS)) == SETS
    assert attributed_passage("Run python3 -m venv tutorial-env", (VENV, SETS)) == VENV
    assert attributed_passage("zzz", (VENV, SETS)) is None


def test_the_packaged_model_is_assembled_once_into_the_model_dir() -> None:
    settings = LocalModelSettings()
    path = model_file(settings)
    assert path.parent == settings.model_dir.expanduser()
    assert path.stat().st_size > 200_000_000
    stamp = path.stat().st_mtime_ns
    assert model_file(settings) == path
    assert path.stat().st_mtime_ns == stamp
    assert not list(path.parent.glob("*.partial"))


async def test_streams_a_grounded_answer_with_a_citation_and_token_counts(
    provider: LocalGgufProvider,
) -> None:
    pieces: list[str] = []
    usage = Usage()
    async for piece in provider.stream(
        question("How do I create a virtual environment?", VENV), usage
    ):
        pieces.append(piece)
    text = "".join(pieces)
    assert len(pieces) > 3, "the answer arrives in pieces"
    assert "venv" in text
    assert "[1]" in text
    assert usage.prompt_tokens > 50
    assert 0 < usage.completion_tokens <= 48


async def test_passages_that_hardly_touch_the_question_are_declined_without_the_model(
    provider: LocalGgufProvider,
) -> None:
    text, usage = await answer(provider, question("What is your refund policy?", VENV, SETS))
    assert text == NO_ANSWER_SENTENCE
    assert usage.completion_tokens == 0, "the model was not asked"
    # One word of the question in the passage is under CHAT_LOCAL_MIN_COVERAGE: declined too.
    text, _ = await answer(provider, question("Do sets keep insertion order stably?", SETS))
    assert text == NO_ANSWER_SENTENCE


async def test_closing_the_stream_early_frees_the_model_for_the_next_question(
    provider: LocalGgufProvider, loader: CountingLoader
) -> None:
    stream = provider.stream(question("How do I create an empty set?", SETS), Usage())
    first = await anext(stream)
    await stream.aclose()
    assert first.strip()
    text, usage = await asyncio.wait_for(
        answer(provider, question("How do I create an empty set?", SETS)), timeout=60
    )
    assert "set" in text.lower()
    assert usage.completion_tokens > 0
    assert loader.calls == 1, "the model is loaded once per process"


async def test_concurrent_questions_take_turns_on_the_one_model(
    provider: LocalGgufProvider,
) -> None:
    venv, sets = await asyncio.gather(
        answer(provider, question("How do I create a virtual environment?", VENV)),
        answer(provider, question("How do I create an empty set?", SETS)),
    )
    assert "venv" in venv[0]
    assert "set" in sets[0].lower()


class SilentModel:
    """A model that only writes whitespace: the real one cannot be made to reliably write
    nothing, and this checks what the provider does then."""

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return list(range(len(text.split())))

    def create_completion(self, prompt: str, **kwargs: object) -> Iterator[dict[str, Any]]:
        yield {"choices": [{"text": " "}]}
        yield {"choices": [{"text": "\n"}]}


async def test_an_empty_completion_becomes_the_no_answer_sentence() -> None:
    local = LocalGgufProvider(LocalModelSettings(), lambda path, settings: SilentModel())
    try:
        text, usage = await answer(local, question("How do I create a virtual env?", VENV))
    finally:
        await local.aclose()
    assert text == NO_ANSWER_SENTENCE
    assert usage.completion_tokens == 2
