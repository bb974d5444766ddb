"""Entry point of the embedder: turns parsed pages into embedded chunks."""

from fastapi import FastAPI
from ragchat_common.runtime import ServiceRuntime, serve
from ragchat_common.ssrf import SsrfPolicy
from ragchat_common.topics import CHUNK_EMBEDDED, PAGE_PARSED, TopicSpec

from ragchat_embedder.domain.chunking import ChunkingRules
from ragchat_embedder.encoders.loaded import EmbedderModels, ModelChoice
from ragchat_embedder.handlers.pages import (
    EmbedderMetrics,
    ImageRules,
    PageEmbedder,
    subscribe_page_embedder,
)
from ragchat_embedder.image_fetch import ImageFetcher, ImageLimits
from ragchat_embedder.settings import EmbedderSettings


def model_choice(settings: EmbedderSettings) -> ModelChoice:
    """The models the settings ask for."""
    return ModelChoice(
        device=settings.device,
        encode_batch_size=settings.encode_batch_size,
        clip_model_path=settings.clip_model_path,
        ocr=settings.images_enabled and settings.ocr_enabled,
        ocr_padding_px=settings.ocr_padding_px,
    )


def image_fetcher(settings: EmbedderSettings) -> ImageFetcher:
    """An SSRF-guarded fetcher with the configured limits."""
    return ImageFetcher.guarded(
        SsrfPolicy.from_allow_list(settings.ssrf_allow_list, enabled=settings.ssrf_guard),
        ImageLimits(settings.image_max_bytes, settings.image_max_pixels, settings.image_types),
        settings.image_fetch_timeout_s,
    )


def create_app(
    settings: EmbedderSettings, source: TopicSpec = PAGE_PARSED, target: TopicSpec = CHUNK_EMBEDDED
) -> FastAPI:
    """The embedder process: models loaded once at start-up, then the subscriber that turns
    ``source`` (pages) into ``target`` (chunks); tests pass topics of their own."""
    runtime = ServiceRuntime.create(settings.service_name, settings)
    models = EmbedderModels(model_choice(settings))
    runtime.add_resource(
        "text-model", start=models.load, stop=models.unload, probe=models.text_probe
    )
    runtime.readiness.probes["image-vectors"] = models.image_vectors_probe
    runtime.readiness.probes["ocr"] = models.ocr_probe
    fetcher = image_fetcher(settings) if settings.images_enabled else None
    if fetcher is not None:
        runtime.add_resource("image-fetcher", start=None, stop=fetcher.close)
    broker = runtime.use_kafka(settings.kafka)
    embedder = PageEmbedder(
        models,
        ChunkingRules(settings.chunk_tokens, settings.chunk_overlap_tokens),
        fetcher,
        ImageRules(
            settings.images_enabled,
            settings.max_images_per_page,
            settings.image_fetch_concurrency,
        ),
        EmbedderMetrics(runtime.registry),
    )
    subscribe_page_embedder(broker, embedder, settings, runtime.registry, source, target)
    return runtime.http_app("ragchat embedder")


def run() -> None:
    """Start the embedder (console script ``ragchat-embedder``)."""
    settings = EmbedderSettings()
    serve(create_app(settings, *settings.topics()))
