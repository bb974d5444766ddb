"""The retriever's gRPC API (``ragchat.v1.RetrieverService``)."""
