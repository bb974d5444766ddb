"""The query model's ONNX export made ahead of the first start:
``python -m ragchat_retriever.encoders.bake``.

The retriever's container image runs it at build time, so pods start without PyTorch's exporter
(5-15 s). It exports what a start with the same settings loads: ``RETRIEVER_QUERY_MODEL_PATH``
(default: the package's weights) into ``RETRIEVER_MODEL_CACHE_DIR`` (default
``~/.cache/ragchat/models``), and does nothing when that export is already there.
"""

from __future__ import annotations

from ragchat_retriever.encoders.onnx_export import exported_model
from ragchat_retriever.encoders.text import default_model_path
from ragchat_retriever.settings import RetrieverSettings


def main() -> None:
    """Export the configured query model unless done, and print where its ONNX file is."""
    settings = RetrieverSettings()
    model_path = settings.query_model_path or default_model_path()
    print(exported_model(model_path, settings.model_cache_dir))


if __name__ == "__main__":
    main()
