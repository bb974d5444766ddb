"""Chunking that respects a page's structure.

A page's text blocks are grouped into sections: consecutive blocks under the same heading path.
A chunk never crosses a section (so never a page) and carries its page title and heading path.
Inside a section, sentences (found by ``sentencex`` for the page's language) are packed greedily
up to a token budget counted with the embedding model's own tokenizer, and consecutive chunks
share whole trailing sentences up to the overlap budget. A sentence is cut only when it alone is
longer than the budget, and then at a word boundary where one is near.

What is embedded is a *passage*: a context line (title and headings) followed by the chunk text,
so that a chunk of a "Refunds" section knows it is about refunds. The chunk text's budget leaves
room for that line inside the configured size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import sentencex
from ragchat_common.events import PageParsed, TextBlock

Span = tuple[int, int]


class Tokenizer(Protocol):
    """Tokenizes texts the way the embedding model does, without special tokens."""

    def token_spans(self, texts: Sequence[str]) -> list[list[Span]]:
        """For each text, the character span of each of its tokens."""
        ...


@dataclass(frozen=True)
class ChunkingRules:
    """Chunk size and overlap, in model tokens."""

    max_tokens: int = 200
    overlap_tokens: int = 40

    def __post_init__(self) -> None:
        if self.max_tokens < 1 or not 0 <= self.overlap_tokens < self.max_tokens:
            raise ValueError("need max_tokens >= 1 and 0 <= overlap_tokens < max_tokens")


@dataclass(frozen=True)
class Section:
    """Consecutive blocks of a page under one heading path."""

    heading_path: tuple[str, ...]
    blocks: tuple[str, ...]


@dataclass(frozen=True)
class Sentence:
    """A sentence (or a piece of an overlong one) and its size in tokens."""

    text: str
    tokens: int
    opens_block: bool


@dataclass(frozen=True)
class TextChunk:
    """One chunk of a page's text, ready to embed."""

    heading_path: tuple[str, ...]
    text: str
    passage: str
    content_hash: str


def content_hash(*parts: str) -> str:
    """A short stable hash of ``parts`` (the content part of a chunk id)."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def sections(blocks: Sequence[TextBlock]) -> list[Section]:
    """Group consecutive non-empty blocks that share a heading path."""
    grouped: list[Section] = []
    for block in blocks:
        text = block.text.strip()
        if not text:
            continue
        path = tuple(h.strip() for h in block.heading_path if h.strip())
        if grouped and grouped[-1].heading_path == path:
            grouped[-1] = Section(path, (*grouped[-1].blocks, text))
        else:
            grouped.append(Section(path, (text,)))
    return grouped


def context_line(title: str, heading_path: Sequence[str]) -> str:
    """The line that puts a chunk in context: ``Title > Heading > Subheading``."""
    parts = [title.strip(), *heading_path]
    return " > ".join(p for p in parts if p)


def passage_for(context: str, text: str) -> str:
    """What the model embeds for a chunk: its context line, then its text."""
    return f"{context}\n\n{text}" if context else text


def sentencex_language(language: str | None) -> str:
    """The primary subtag of a page language (``en-US`` -> ``en``); English when unknown."""
    return (language or "en").split("-")[0].split("_")[0].lower() or "en"


def split_sentences(text: str, language: str) -> list[str]:
    """The sentences of ``text``, stripped, empty ones dropped."""
    return [s.strip() for s in sentencex.segment(language, text) if s.strip()]


def _cut_overlong(text: str, spans: list[Span], budget: int) -> list[Sentence]:
    """Cut a sentence of more than ``budget`` tokens into pieces of at most ``budget`` tokens.

    Each cut falls before a token that starts a word (follows whitespace) in the second half of
    the window, when there is one, so words stay whole.
    """
    pieces: list[Sentence] = []
    start = 0
    while start < len(spans):
        end = min(start + budget, len(spans))
        if end < len(spans):
            for candidate in range(end, start + budget // 2, -1):
                char = spans[candidate][0]
                if char > 0 and text[char - 1].isspace():
                    end = candidate
                    break
        last = spans[end][0] if end < len(spans) else len(text)
        piece = text[spans[start][0] : last].strip()
        if piece:
            pieces.append(Sentence(piece, end - start, opens_block=False))
        start = end
    return pieces


def section_sentences(
    section: Section, language: str, tokenizer: Tokenizer, budget: int
) -> list[Sentence]:
    """The section's sentences with their token counts, overlong ones cut to ``budget``."""
    texts: list[str] = []
    opens: list[bool] = []
    for block in section.blocks:
        for index, sentence in enumerate(split_sentences(block, language)):
            texts.append(sentence)
            opens.append(index == 0)
    result: list[Sentence] = []
    for text, opens_block, spans in zip(texts, opens, tokenizer.token_spans(texts), strict=True):
        if len(spans) <= budget:
            result.append(Sentence(text, len(spans), opens_block))
            continue
        pieces = _cut_overlong(text, spans, budget)
        if pieces:
            pieces[0] = Sentence(pieces[0].text, pieces[0].tokens, opens_block)
        result.extend(pieces)
    return result


def _join(sentences: Sequence[Sentence]) -> str:
    """Sentences as text: a blank line where a block begins, a space inside a block."""
    out: list[str] = []
    for index, sentence in enumerate(sentences):
        if index:
            out.append("\n\n" if sentence.opens_block else " ")
        out.append(sentence.text)
    return "".join(out)


def _overlap_tail(chunk: Sequence[Sentence], overlap: int, room: int) -> list[Sentence]:
    """The trailing whole sentences of ``chunk`` that fit in ``overlap`` and in ``room``."""
    tail: list[Sentence] = []
    used = 0
    for sentence in reversed(chunk):
        if used + sentence.tokens > min(overlap, room):
            break
        tail.insert(0, sentence)
        used += sentence.tokens
    return tail


def pack(sentences: Sequence[Sentence], budget: int, overlap: int) -> list[list[Sentence]]:
    """Pack sentences greedily into chunks of at most ``budget`` tokens.

    A new chunk starts with the previous chunk's last sentences (at most ``overlap`` tokens, and
    never so many that the next sentence would not fit).
    """
    chunks: list[list[Sentence]] = []
    current: list[Sentence] = []
    used = 0
    for sentence in sentences:
        if current and used + sentence.tokens > budget:
            chunks.append(current)
            current = _overlap_tail(current, overlap, budget - sentence.tokens)
            used = sum(s.tokens for s in current)
        current.append(sentence)
        used += sentence.tokens
    if current:
        chunks.append(current)
    return chunks


def chunk_section(
    section: Section,
    title: str,
    language: str | None,
    rules: ChunkingRules,
    tokenizer: Tokenizer,
) -> list[TextChunk]:
    """The chunks of one section, each within ``rules.max_tokens`` with its context line.

    The context line's tokens come out of the chunk's budget, but the text keeps at least half of
    it, so a page with a very long title still gets useful chunks.
    """
    context = context_line(title, section.heading_path)
    context_tokens = len(tokenizer.token_spans([context])[0]) if context else 0
    budget = max(rules.max_tokens - context_tokens, rules.max_tokens // 2)
    overlap = min(rules.overlap_tokens, budget - 1)
    sentences = section_sentences(section, sentencex_language(language), tokenizer, budget)
    chunks: list[TextChunk] = []
    for group in pack(sentences, budget, overlap):
        text = _join(group)
        passage = passage_for(context, text)
        chunks.append(TextChunk(section.heading_path, text, passage, content_hash(passage)))
    return chunks


def chunk_page(page: PageParsed, rules: ChunkingRules, tokenizer: Tokenizer) -> list[TextChunk]:
    """Every text chunk of ``page``, in reading order."""
    return [
        chunk
        for section in sections(page.blocks)
        for chunk in chunk_section(section, page.title, page.language, rules, tokenizer)
    ]
