"""PDF text with pypdf: one text block per page, headed by the document title and page number."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.errors import PdfReadError
from ragchat_common.events import TextBlock

_ws = re.compile(r"[ \t\r\f\v]+")


class UnreadablePdf(ValueError):
    """The body is not a PDF pypdf can read (damaged, encrypted without a password...)."""


@dataclass(frozen=True)
class ParsedPdf:
    """A PDF's title and text."""

    title: str
    blocks: list[TextBlock]


def parse_pdf(body: bytes, fallback_title: str) -> ParsedPdf:
    """Extract the text of every page; ``fallback_title`` names a PDF without a title."""
    try:
        reader = PdfReader(io.BytesIO(body))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadablePdf("encrypted PDF")
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
        title = str(meta_title).strip() or fallback_title
        blocks = []
        for number, page in enumerate(reader.pages, start=1):
            text = "\n".join(
                _ws.sub(" ", line).strip() for line in (page.extract_text() or "").splitlines()
            ).strip()
            if text:
                blocks.append(TextBlock(heading_path=[title, f"Page {number}"], text=text))
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, UnreadablePdf):
            raise
        raise UnreadablePdf(f"cannot read PDF: {exc}") from exc
    return ParsedPdf(title, blocks)
