"""ragchat scraper service."""
