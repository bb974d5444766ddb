"""ragchat gateway service."""
