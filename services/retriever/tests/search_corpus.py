"""A small hand-made corpus for the search tests: two knowledge bases of a web shop's help pages,
with overlapping topics (both explain returns) so that isolation is tested on chunks that would
match, and a labelled set of questions with the chunk that answers each."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from uuid import UUID

from ragchat_common.events import ChunkEmbedded, ImageRef, chunk_id_for, page_id_for

KB_A = UUID("0000000a-0000-0000-0000-000000000000")
KB_B = UUID("0000000b-0000-0000-0000-000000000000")
TENANT_A = UUID(int=0xA)
TENANT_B = UUID(int=0xB)


@dataclass(frozen=True)
class Page:
    """A page of the corpus: its chunks' texts under one heading path each."""

    kb_id: UUID
    url: str
    title: str
    chunks: tuple[tuple[tuple[str, ...], str], ...]
    image: ImageRef | None = None


PAGES = (
    Page(
        KB_A,
        "https://shop-a.example/help/returns",
        "Returns and refunds",
        (
            (
                ("Orders", "Returns"),
                "You can return any item within 30 days of delivery for a full refund. Refunds "
                "are paid to the original payment method within five business days.",
            ),
            (
                ("Orders", "Returns", "Conditions"),
                "Items must be unused and in their original packaging. Sale items cannot be "
                "returned or refunded.",
            ),
            (
                ("Orders", "Returns", "How to return"),
                "To start a return, open your order history and choose Return item. Print the "
                "prepaid label and drop the parcel at any post office; refunds follow once it "
                "arrives.",
            ),
        ),
    ),
    Page(
        KB_A,
        "https://shop-a.example/help/shipping",
        "Shipping and delivery",
        (
            (
                ("Orders", "Shipping"),
                "Standard shipping takes three to five business days. Express delivery arrives "
                "the next day when ordered before noon.",
            ),
        ),
    ),
    Page(
        KB_A,
        "https://shop-a.example/help/account",
        "Your account",
        (
            (
                ("Account", "Sign-in"),
                "Forgot your password? Click Forgot password on the sign-in page and follow the "
                "link we email you to choose a new one.",
            ),
        ),
    ),
    Page(
        KB_A,
        "https://shop-a.example/help/warranty",
        "Warranty",
        (
            (
                ("Products", "Warranty"),
                "Every laptop comes with a two-year warranty that covers manufacturing defects. "
                "Accidental damage such as a cracked screen is not covered.",
            ),
            (
                ("Products", "Troubleshooting"),
                "Error code E4031 on the display means the battery controller needs a reset: "
                "hold the power button for 30 seconds.",
            ),
            (
                ("Products", "Troubleshooting"),
                "Model ZX-880 ships with firmware 2.1; update it from the Settings menu.",
            ),
        ),
    ),
    Page(
        KB_A,
        "https://shop-a.example/stores",
        "Our stores",
        (
            (
                ("Stores",),
                "Map of our Berlin store. The Berlin flagship store on Alexanderplatz.",
            ),
        ),
        ImageRef(
            src="https://shop-a.example/img/berlin-map.png",
            alt="Map of our Berlin store",
            caption="The Berlin flagship store on Alexanderplatz",
        ),
    ),
    Page(
        KB_B,
        "https://shop-b.example/returns",
        "Returns policy",
        (
            (
                ("Help", "Returns"),
                "Returns are accepted within 30 days for a full refund to your card.",
            ),
        ),
    ),
    Page(
        KB_B,
        "https://shop-b.example/gift-cards",
        "Gift cards",
        (
            (
                ("Help", "Gift cards"),
                "Gift cards never expire and can be used for any purchase in our shop.",
            ),
        ),
    ),
)


def chunk_events(embed: dict[str, list[float]]) -> list[ChunkEmbedded]:
    """The corpus as ``chunk.embedded`` events, with the vectors ``embed`` gives each text."""
    events = []
    for page in PAGES:
        page_id = page_id_for(page.kb_id, page.url)
        tenant = TENANT_A if page.kb_id == KB_A else TENANT_B
        for ordinal, (headings, text) in enumerate(page.chunks):
            content_hash = hashlib.sha256(text.encode()).hexdigest()[:16]
            events.append(
                ChunkEmbedded(
                    chunk_id=chunk_id_for(page_id, ordinal, content_hash),
                    page_id=page_id,
                    crawl_id=UUID(int=1),
                    kb_id=page.kb_id,
                    tenant_id=tenant,
                    url=page.url,
                    title=page.title,
                    heading_path=list(headings),
                    ordinal=ordinal,
                    chunk_count=len(page.chunks),
                    text=text,
                    content_hash=content_hash,
                    language="en",
                    vector=embed[text],
                    image=page.image if page.image and ordinal == 0 else None,
                )
            )
    return events


def all_texts() -> list[str]:
    """Every chunk text of the corpus."""
    return [text for page in PAGES for _, text in page.chunks]


LABELLED = (
    # (question, the start of the text of the chunk that answers it); all in knowledge base A.
    ("how many days do I have to send something back", "You can return any item"),
    ("refund to original payment method", "You can return any item"),
    ("can I return a discounted product", "Items must be unused"),
    ("when will my parcel arrive", "Standard shipping takes"),
    ("express delivery next day", "Standard shipping takes"),
    ("I can't log in, I lost my credentials", "Forgot your password?"),
    ("password reset link", "Forgot your password?"),
    ("my screen broke, is that covered", "Every laptop comes with"),
    ("laptop warranty years", "Every laptop comes with"),
    ("where is the shop in Berlin", "Map of our Berlin store"),
    # Codes and model numbers: words a sentence encoder does not know.
    ("E4031", "Error code E4031"),
    ("ZX-880 firmware", "Model ZX-880"),
)
