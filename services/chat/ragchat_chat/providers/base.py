"""The one interface every answer provider implements, and the prompt it receives.

Chat builds a :class:`GroundedPrompt` (the question, the recent turns and the numbered passages the
answer must come from) and streams text pieces from an :class:`AnswerProvider`. A provider never
sees a database, a cache or gRPC: it turns a prompt into text, and reports token counts through the
:class:`Usage` record it is handed for that one call (so concurrent calls never share state).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]

SYSTEM_INSTRUCTIONS = (
    "You are a customer-support assistant for a website. Answer the question using ONLY the "
    "numbered passages below, which come from the site. Cite every fact with the number of its "
    "passage in square brackets, like [1] or [2]. Be concise: two to five sentences. If the "
    "passages do not contain the answer, reply exactly: I could not find this on the site."
)

# The sentence a generative provider writes when the passages hold no answer (see the
# instructions above); chat recognises it and turns the reply into a decline.
NO_ANSWER_SENTENCE = "I could not find this on the site."


@dataclass(frozen=True)
class ChatMessage:
    """One message of a chat-template conversation (OpenAI-style roles)."""

    role: Role
    content: str


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk, numbered as the prompt and the answer's [n] markers refer to it."""

    number: int
    chunk_id: str
    url: str
    title: str
    text: str
    snippet: str = ""
    heading_path: tuple[str, ...] = ()
    image_src: str = ""
    score: float = 0.0


@dataclass(frozen=True)
class Turn:
    """A past exchange of the conversation, oldest first in :attr:`GroundedPrompt.history`."""

    question: str
    answer: str


@dataclass(frozen=True)
class GroundedPrompt:
    """Everything a provider needs to answer one question from the site's passages."""

    # The user's message as typed.
    question: str
    # The question rewritten to stand alone (``question`` itself on a first turn); searched for.
    standalone_question: str
    passages: tuple[Passage, ...]
    # Recent turns kept verbatim, oldest first, within the token budget.
    history: tuple[Turn, ...] = ()
    # Heuristic or model summary of older turns that did not fit the budget; empty when none.
    history_summary: str = ""
    system: str = SYSTEM_INSTRUCTIONS

    def passages_block(self) -> str:
        """The numbered passages as the prompt shows them: ``[n] title (url)\\ntext``."""
        return "\n\n".join(
            f"[{p.number}] {p.title} ({p.url})\n{p.text.strip()}" for p in self.passages
        )

    def messages(self) -> list[ChatMessage]:
        """The prompt as chat messages: instructions, past turns, then passages and question."""
        system = self.system
        if self.history_summary:
            system = f"{system}\n\nEarlier in this conversation: {self.history_summary}"
        out = [ChatMessage("system", system)]
        for turn in self.history:
            out.append(ChatMessage("user", turn.question))
            out.append(ChatMessage("assistant", turn.answer))
        out.append(
            ChatMessage(
                "user",
                f"Passages:\n{self.passages_block()}\n\nQuestion: {self.standalone_question}",
            )
        )
        return out


@dataclass
class Usage:
    """Token counts of one call, filled in by the provider when its backend reports them.

    Left at zero, chat estimates the counts from the text itself.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0


@runtime_checkable
class AnswerProvider(Protocol):
    """Turns a grounded prompt into a streamed answer."""

    # Reported in TurnSummary.provider and chat.turn ("extractive", "openai", "local").
    name: str

    def stream(self, prompt: GroundedPrompt, usage: Usage) -> AsyncIterator[str]:
        """Yield the answer's text in order, in pieces of any size (words, tokens).

        Cites passages as ``[n]`` with their :attr:`Passage.number`. Writes
        :data:`NO_ANSWER_SENTENCE` when the passages hold no answer. Fills ``usage`` when known.
        Implemented as an ``async def`` generator; chat may stop iterating early (the client went
        away), which closes the generator, so release resources in ``finally``.
        """
        ...

    async def aclose(self) -> None:
        """Release the provider's clients or model at service shutdown."""
        ...


@runtime_checkable
class QueryRewriter(Protocol):
    """Optional second face of a generative provider: rewrites a follow-up to stand alone."""

    async def rewrite(self, question: str, history: tuple[Turn, ...]) -> str:
        """The follow-up ``question`` as a self-contained search query, given the recent turns."""
        ...


@runtime_checkable
class Preloadable(Protocol):
    """Optional face of a provider that loads a model: chat calls it at start-up so the first
    question does not pay for the load."""

    async def load(self) -> None:
        """Load the model now."""
        ...
