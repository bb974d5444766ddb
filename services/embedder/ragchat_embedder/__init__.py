"""ragchat embedder service."""
