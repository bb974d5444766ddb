"""Word-level text helpers shared by rewriting, the extractive provider and the cache.

Written here rather than taken from an NLP library: chat only needs lower-cased word tokens, an
English stop-word list and a rough token estimate, and loading a tokenizer per process would cost
more memory than these few lines.
"""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"[\w][\w\-+.#]*[\w+#]|[\w]", re.UNICODE)

# English function words, plus the framing of questions ("how long does it take", "how much").
# fmt: off
STOP_WORDS = frozenset((
    "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are",
    "as", "at", "be", "been", "before", "being", "below", "between", "both", "but", "by", "can",
    "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from",
    "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how",
    "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my",
    "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours",
    "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the",
    "their", "theirs", "them", "then", "there", "these", "they", "this", "those", "through",
    "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where",
    "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours",
    "please", "tell", "know", "want", "need", "use", "using", "used", "get", "make", "way",
    "thing", "things", "long", "much", "many", "take", "takes", "don", "doesn", "didn", "isn",
    "aren", "wasn", "won", "shouldn", "couldn", "wouldn",
))
# fmt: on

# Words that point back to something said earlier: a question holding one is a follow-up.
# fmt: off
REFERRING_WORDS = frozenset((
    "it", "its", "it's", "this", "that", "these", "those", "they", "them", "their", "there",
    "he", "she", "him", "her", "one", "ones",
))
# fmt: on


def words(text: str) -> list[str]:
    """Lower-cased word tokens (keeps ``c++``, ``os.path``, ``utf-8`` whole)."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return [w.strip(".") for w in WORD.findall(folded) if w.strip(".")]


def stem(word: str) -> str:
    """A light English suffix strip, so ``installing`` and ``installs`` meet ``install``."""
    for suffix in ("ations", "ation", "ings", "ing", "ies", "es", "ed", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def content_terms(text: str) -> list[str]:
    """Stemmed words that carry meaning (no stop words, no one-letter words), in order."""
    return [stem(w) for w in words(text) if w not in STOP_WORDS and len(w) > 1]


def estimate_tokens(text: str) -> int:
    """About four characters per token, the usual rule for English with BPE tokenizers."""
    return max(1, (len(text) + 3) // 4) if text else 0


def normalise_question(text: str) -> str:
    """Case, spacing and trailing punctuation folded, for the answer cache key."""
    return " ".join(words(text))
