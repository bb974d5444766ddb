"""Pages passed by reference: which references are followed, and the body they must hold.

A page too large for one Kafka message arrives with ``body_ref`` instead of blocks and images. The
scraper serves the body at ``{scraper}/v1/page-bodies/{page_id}/{content_hash}`` as
``{"blocks": [...], "images": [...]}``. Only references to that path of the configured scraper are
followed: a message can name any URL, and the embedder must not be steered to fetch arbitrary
addresses by whoever can write to ``page.parsed``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ragchat_common.events import ImageRef, PageParsed, TextBlock


class InvalidPageBody(ValueError):
    """A page's body reference cannot be followed, or what it serves is not a page body."""


class PageBody(BaseModel):
    """What the scraper serves for a page passed by reference."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    blocks: list[TextBlock] = Field(default_factory=list)
    images: list[ImageRef] = Field(default_factory=list)


def by_reference(page: PageParsed) -> bool:
    """Whether ``page``'s content must be fetched before it can be chunked."""
    return page.body_ref is not None and not page.deleted and not page.blocks


def body_url(page: PageParsed, scraper_url: str) -> str:
    """The URL ``page``'s body is fetched from; refuses a reference elsewhere than the scraper's
    body of this very page and content."""
    expected = f"{scraper_url.rstrip('/')}/v1/page-bodies/{page.page_id}/{page.content_hash}"
    if page.body_ref != expected or not page.content_hash:
        raise InvalidPageBody(
            f"page {page.page_id}: body_ref={page.body_ref!r} is not {expected!r} "
            "(only the configured scraper's body of this page and content hash is followed)"
        )
    return expected


def parse_body(page: PageParsed, raw: bytes) -> PageBody:
    """The body served for ``page``, validated."""
    try:
        return PageBody.model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidPageBody(f"page {page.page_id}: the body served is not valid: {exc}") from exc


def with_body(page: PageParsed, body: PageBody) -> PageParsed:
    """``page`` as if its body had come inline (no reference left)."""
    return page.model_copy(update={"blocks": body.blocks, "images": body.images, "body_ref": None})
