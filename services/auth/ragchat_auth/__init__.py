"""ragchat auth service."""
