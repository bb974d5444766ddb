"""ragchat retriever service."""
