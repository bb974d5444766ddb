"""The auth service's gRPC API (``ragchat.v1.AuthService``)."""
