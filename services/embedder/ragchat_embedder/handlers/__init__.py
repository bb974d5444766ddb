"""Kafka subscribers of the embedder."""
