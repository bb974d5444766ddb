"""What chat decides: access, memory, query rewriting, grounding, citations, caching, turns."""
