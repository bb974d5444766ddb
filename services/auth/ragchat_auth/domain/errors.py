"""Failures of auth operations, each mapped to one gRPC status code by the API layer."""


class AuthError(Exception):
    """Base of every refusal; the message is safe to show to the caller."""


class Unauthenticated(AuthError):
    """Credentials are missing, wrong, expired or revoked."""


class PermissionDenied(AuthError):
    """The caller is known but may not do this."""


class InvalidArgument(AuthError):
    """The request itself is malformed (bad email, weak password, unknown role...)."""


class AlreadyExists(AuthError):
    """The thing to create exists already (an email, a membership)."""


class NotFound(AuthError):
    """The thing named does not exist in the caller's organisation."""


class FailedPrecondition(AuthError):
    """The request is valid but the current state forbids it (e.g. removing the last owner)."""
