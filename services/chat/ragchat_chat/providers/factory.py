"""Builds the answer provider named by the settings."""

from __future__ import annotations

from ragchat_chat.providers.base import AnswerProvider
from ragchat_chat.settings import ChatSettings


def build_provider(settings: ChatSettings) -> AnswerProvider:
    """The provider ``CHAT_PROVIDER`` names: ``extractive``, ``openai`` or ``local``.

    Imports happen here so a process only loads what it uses (llama.cpp and the model file for
    ``local``, the openai SDK for ``openai``).
    """
    if settings.provider == "openai":
        from ragchat_chat.providers.openai_compatible import OpenAICompatibleProvider

        return OpenAICompatibleProvider(settings.openai)
    if settings.provider == "local":
        from ragchat_chat.providers.local_gguf import LocalGgufProvider

        return LocalGgufProvider(settings.local)
    from ragchat_chat.providers.extractive import ExtractiveProvider

    return ExtractiveProvider(settings.extractive_min_coverage)
