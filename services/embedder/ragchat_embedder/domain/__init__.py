"""Pure rules of the embedder: chunking pages and images into what gets embedded."""
