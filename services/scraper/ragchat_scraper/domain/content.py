"""Content fingerprints: the same text under two URLs is one page, indexed once."""

from __future__ import annotations

import hashlib
import re

from ragchat_common.events import TextBlock

_ws = re.compile(r"\s+")


def content_hash(title: str, blocks: list[TextBlock]) -> str:
    """A hash of what a page says (title and text, whitespace-normalised), not of its markup.

    Markup that differs only in scripts, tracking pixels or whitespace yields the same hash.
    """
    digest = hashlib.sha256(_ws.sub(" ", title).strip().encode())
    for block in blocks:
        digest.update(b"\x1f")
        digest.update("\x1e".join(block.heading_path).encode())
        digest.update(b"\x1f")
        digest.update(_ws.sub(" ", block.text).strip().encode())
    return digest.hexdigest()
