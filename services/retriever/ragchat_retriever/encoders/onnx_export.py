"""all-MiniLM-L6-v2 as an ONNX file, exported once from the local weights into a cache folder.

The export runs PyTorch's exporter on the transformer (token vectors out; pooling stays in the
encoder), offline, in a few seconds. The file is keyed by the weights it came from (their path,
size and modification time), so an upgraded model package gets a fresh export, and it is written
under a temporary name and renamed, so replicas starting together never read a half-written file.
The retriever's container image exports at build time (:mod:`.bake`), so its pods only read it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

DEFAULT_CACHE_DIR = Path.home() / ".cache" / "ragchat" / "models"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "last_hidden_state"
OPSET = 17


def export_key(model_path: Path) -> str:
    """A short digest of the weights' identity (path, size, modification time in whole
    seconds)."""
    weights = (model_path / "model.safetensors").resolve()
    stat = weights.stat()
    # Whole seconds: container image layers keep no finer times, so an export made while the
    # image was built (nanoseconds then) must still match in the pods that run it.
    modified_s = stat.st_mtime_ns // 1_000_000_000
    return hashlib.sha256(f"{weights}|{stat.st_size}|{modified_s}".encode()).hexdigest()[:16]


def export_onnx(model_path: Path, target: Path) -> None:
    """Write the transformer of ``model_path`` to ``target`` as ONNX (dynamic batch and length)."""
    import torch  # the export alone needs PyTorch and transformers
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()

    class TokenVectors(torch.nn.Module):
        """The model with positional inputs and its last hidden state as the one output."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(
            self, input_ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor
        ) -> torch.Tensor:
            output = self.model(input_ids=input_ids, attention_mask=mask, token_type_ids=types)
            hidden: torch.Tensor = output.last_hidden_state
            return hidden

    sample = torch.tensor([[101, 7592, 2088, 102]])
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, OUTPUT)}
    with torch.no_grad():
        torch.onnx.export(
            TokenVectors(),
            (sample, torch.ones_like(sample), torch.zeros_like(sample)),
            str(target),
            input_names=list(INPUTS),
            output_names=[OUTPUT],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


def exported_model(model_path: Path, cache_dir: Path | None = None) -> Path:
    """The ONNX file of the model in ``model_path``, exported into ``cache_dir`` (default
    ``~/.cache/ragchat/models``) unless an earlier start already did."""
    folder = (cache_dir or DEFAULT_CACHE_DIR) / f"all-MiniLM-L6-v2-{export_key(model_path)}"
    target = folder / "model.onnx"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    descriptor, partial = tempfile.mkstemp(dir=folder, suffix=".onnx.partial")
    os.close(descriptor)
    try:
        export_onnx(model_path, Path(partial))
        os.chmod(partial, 0o644)  # mkstemp's 0600 would hide it from a service of another user
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)
    return target
