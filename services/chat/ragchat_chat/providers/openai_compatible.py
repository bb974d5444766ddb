"""An OpenAI-compatible chat completions endpoint through the official ``openai`` SDK.

Works with OpenAI, OpenRouter, Ollama's ``/v1``, vLLM and the llama.cpp server: base URL, key and
model come from ``CHAT_OPENAI_*``. Answers stream; the same model also rewrites follow-ups.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from ragchat_chat.providers.base import ChatMessage, GroundedPrompt, Turn, Usage
from ragchat_chat.settings import OpenAISettings

REWRITE_INSTRUCTIONS = (
    "Rewrite the user's last question so it can be understood without the conversation, for a "
    "search engine. Keep its language and meaning, resolve words like 'it' or 'that' from the "
    "conversation, and reply with the rewritten question only."
)


def as_params(messages: list[ChatMessage]) -> list[ChatCompletionMessageParam]:
    """Chat messages in the SDK's request shape."""
    params: list[ChatCompletionMessageParam] = []
    for m in messages:
        if m.role == "system":
            params.append({"role": "system", "content": m.content})
        elif m.role == "user":
            params.append({"role": "user", "content": m.content})
        else:
            params.append({"role": "assistant", "content": m.content})
    return params


class OpenAICompatibleProvider:
    """Streams answers from a chat completions endpoint."""

    name = "openai"

    def __init__(self, settings: OpenAISettings) -> None:
        self.settings = settings
        self.client = AsyncOpenAI(
            base_url=settings.base_url,
            # Local servers (Ollama, llama.cpp) ignore the key but the SDK wants one.
            api_key=settings.api_key.get_secret_value() or "unused",
            timeout=settings.timeout_s,
            max_retries=settings.max_retries,
        )

    async def stream(self, prompt: GroundedPrompt, usage: Usage) -> AsyncIterator[str]:
        """The model's answer as it arrives; usage from the final chunk when the server sends it."""
        response = await self.client.chat.completions.create(
            model=self.settings.model,
            messages=as_params(prompt.messages()),
            temperature=self.settings.temperature,
            max_tokens=self.settings.max_tokens,
            stream=True,
            stream_options={"include_usage": True},
        )
        try:
            async for chunk in response:
                if chunk.usage is not None:
                    usage.prompt_tokens = chunk.usage.prompt_tokens
                    usage.completion_tokens = chunk.usage.completion_tokens
                for choice in chunk.choices:
                    if choice.delta.content:
                        yield choice.delta.content
        finally:
            await response.close()

    async def rewrite(self, question: str, history: tuple[Turn, ...]) -> str:
        """The follow-up as a standalone question, by the same model."""
        conversation = "\n".join(f"User: {t.question}\nAssistant: {t.answer}" for t in history)
        completion = await self.client.chat.completions.create(
            model=self.settings.model,
            messages=[
                {"role": "system", "content": REWRITE_INSTRUCTIONS},
                {
                    "role": "user",
                    "content": f"Conversation:\n{conversation}\n\nLast question: {question}",
                },
            ],
            temperature=0.0,
            max_tokens=96,
        )
        rewritten = (
            (completion.choices[0].message.content or "").strip() if completion.choices else ""
        )
        return rewritten or question

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self.client.close()
