"""ragchat chat service."""
