"""Shared plumbing for every ragchat service."""
