"""Kafka subscribers of the retriever."""
