"""The models the embedder runs: text embeddings, image embeddings and OCR."""
