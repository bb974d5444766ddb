"""Query encoders: the text model of the embedder for query vectors, CLIP for image mode."""
