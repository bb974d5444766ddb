"""Chunking: sections never mix, sizes are counted in model tokens, cuts fall between sentences,
consecutive chunks overlap by whole sentences, and the same page always gives the same chunks."""

from __future__ import annotations

import itertools
from uuid import UUID

import pytest
from ragchat_common.events import PageParsed, TextBlock
from ragchat_embedder.domain.chunking import (
    ChunkingRules,
    Section,
    chunk_page,
    chunk_section,
    context_line,
    sections,
    sentencex_language,
    split_sentences,
)
from ragchat_embedder.encoders.tokens import ModelTokenizer, default_model_path

pytestmark = pytest.mark.unit

KB = UUID("00000000-0000-0000-0000-00000000000b")


@pytest.fixture(scope="module")
def tokenizer() -> ModelTokenizer:
    return ModelTokenizer.from_model_dir(default_model_path())


def tokens(tokenizer: ModelTokenizer, text: str) -> int:
    return len(tokenizer.token_spans([text])[0])


def page(blocks: list[TextBlock], title: str = "Help centre") -> PageParsed:
    return PageParsed(
        page_id="p1",
        crawl_id=KB,
        kb_id=KB,
        tenant_id=KB,
        url="https://example.com/help",
        canonical_url="https://example.com/help",
        title=title,
        blocks=blocks,
    )


SENTENCES = [f"Sentence {i} explains how refund {i} is handled by billing." for i in range(60)]


def test_consecutive_blocks_under_one_heading_form_one_section_and_empty_blocks_vanish() -> None:
    blocks = [
        TextBlock(heading_path=["Billing"], text="First."),
        TextBlock(heading_path=["Billing"], text="Second."),
        TextBlock(heading_path=["Billing", "Refunds"], text="  "),
        TextBlock(heading_path=["Billing", "Refunds"], text="Third."),
        TextBlock(heading_path=["Billing"], text="Fourth."),
    ]
    assert sections(blocks) == [
        Section(("Billing",), ("First.", "Second.")),
        Section(("Billing", "Refunds"), ("Third.",)),
        Section(("Billing",), ("Fourth.",)),
    ]


def test_chunks_never_cross_sections_and_carry_title_and_heading_path(
    tokenizer: ModelTokenizer,
) -> None:
    parsed = page(
        [
            TextBlock(heading_path=["Billing"], text="We bill monthly. Invoices are emailed."),
            TextBlock(heading_path=["Billing", "Refunds"], text="Refunds take five days."),
        ]
    )
    chunks = chunk_page(parsed, ChunkingRules(200, 40), tokenizer)
    assert [(c.heading_path, c.text) for c in chunks] == [
        (("Billing",), "We bill monthly. Invoices are emailed."),
        (("Billing", "Refunds"), "Refunds take five days."),
    ]
    assert chunks[1].passage == "Help centre > Billing > Refunds\n\nRefunds take five days."


def test_chunks_stay_within_budget_and_cut_only_between_sentences(
    tokenizer: ModelTokenizer,
) -> None:
    rules = ChunkingRules(max_tokens=80, overlap_tokens=20)
    parsed = page([TextBlock(heading_path=["Refunds"], text=" ".join(SENTENCES))])
    chunks = chunk_page(parsed, rules, tokenizer)
    assert len(chunks) > 5
    for chunk in chunks:
        assert tokens(tokenizer, chunk.passage) <= rules.max_tokens
        for sentence in split_sentences(chunk.text, "en"):
            assert sentence in SENTENCES, f"a sentence was cut: {sentence!r}"
    covered = {s for c in chunks for s in split_sentences(c.text, "en")}
    assert covered == set(SENTENCES), "some text was lost"


def test_consecutive_chunks_overlap_by_whole_sentences_within_the_overlap_budget(
    tokenizer: ModelTokenizer,
) -> None:
    rules = ChunkingRules(max_tokens=80, overlap_tokens=20)
    parsed = page([TextBlock(heading_path=[], text=" ".join(SENTENCES))], title="")
    chunks = chunk_page(parsed, rules, tokenizer)
    for before, after in itertools.pairwise(chunks):
        first_of_next = split_sentences(after.text, "en")[0]
        assert before.text.endswith(first_of_next), "the next chunk does not repeat a sentence"
        shared = after.text[: after.text.index(first_of_next) + len(first_of_next)]
        assert tokens(tokenizer, shared) <= rules.overlap_tokens


def test_no_overlap_when_the_overlap_is_zero(tokenizer: ModelTokenizer) -> None:
    parsed = page([TextBlock(heading_path=[], text=" ".join(SENTENCES))], title="")
    chunks = chunk_page(parsed, ChunkingRules(80, 0), tokenizer)
    all_sentences = [s for c in chunks for s in split_sentences(c.text, "en")]
    assert all_sentences == SENTENCES


def test_an_overlong_sentence_is_cut_at_word_boundaries_within_budget(
    tokenizer: ModelTokenizer,
) -> None:
    words = [f"word{i}" for i in range(300)]
    section = Section(("Glossary",), (" ".join(words),))
    chunks = chunk_section(section, "", None, ChunkingRules(64, 8), tokenizer)
    assert len(chunks) > 3
    for chunk in chunks:
        assert tokens(tokenizer, chunk.passage) <= 64
        assert all(w in words for w in chunk.text.split()), "a word was cut in two"
    assert [w for c in chunks for w in c.text.split()] == words


def test_a_long_title_leaves_the_text_at_least_half_the_budget(tokenizer: ModelTokenizer) -> None:
    title = " ".join(["Extraordinarily"] * 150)
    parsed = page([TextBlock(heading_path=[], text=" ".join(SENTENCES[:20]))], title=title)
    chunks = chunk_page(parsed, ChunkingRules(100, 10), tokenizer)
    assert all(tokens(tokenizer, c.text) <= 50 for c in chunks)
    assert all(tokens(tokenizer, c.text) > 30 for c in chunks[:-1]), "chunks are not filled"


def test_blocks_stay_paragraphs_inside_a_chunk(tokenizer: ModelTokenizer) -> None:
    parsed = page(
        [
            TextBlock(heading_path=["Setup"], text="Install the app. Open it."),
            TextBlock(heading_path=["Setup"], text="Sign in with your account."),
        ]
    )
    [chunk] = chunk_page(parsed, ChunkingRules(200, 40), tokenizer)
    assert chunk.text == "Install the app. Open it.\n\nSign in with your account."


def test_the_same_page_gives_the_same_chunks_and_a_changed_title_changes_their_hash(
    tokenizer: ModelTokenizer,
) -> None:
    blocks = [TextBlock(heading_path=["A"], text=" ".join(SENTENCES[:30]))]
    rules = ChunkingRules(80, 20)
    first = chunk_page(page(blocks), rules, tokenizer)
    again = chunk_page(page(blocks), rules, tokenizer)
    retitled = chunk_page(page(blocks, title="Support"), rules, tokenizer)
    assert first == again
    assert [c.content_hash for c in first] != [c.content_hash for c in retitled]
    assert len({c.content_hash for c in first}) == len(first)


def test_a_page_without_text_has_no_chunks(tokenizer: ModelTokenizer) -> None:
    assert chunk_page(page([TextBlock(text=" \n ")]), ChunkingRules(), tokenizer) == []


def test_language_tags_map_to_sentencex_languages() -> None:
    assert sentencex_language("en-US") == "en"
    assert sentencex_language("de_DE") == "de"
    assert sentencex_language(None) == "en"
    assert split_sentences("Das ist z.B. gut. Ja.", "de") == ["Das ist z.B. gut.", "Ja."]


def test_context_line_skips_empty_parts() -> None:
    assert context_line("", ["Billing", "Refunds"]) == "Billing > Refunds"
    assert context_line("  ", []) == ""


def test_rules_refuse_an_overlap_as_large_as_the_chunk() -> None:
    with pytest.raises(ValueError, match="overlap"):
        ChunkingRules(max_tokens=50, overlap_tokens=50)
