"""Indexing rules of the retriever, free of I/O except through the store passed in."""
