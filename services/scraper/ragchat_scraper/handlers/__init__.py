"""Kafka subscribers of the scraper."""
