"""Ids sent by clients, parsed once at the edge of each operation."""

from uuid import UUID

from ragchat_auth.domain.errors import InvalidArgument


def parse_id(value: str, what: str = "id") -> UUID:
    """Parse a UUID; a malformed one is the caller's mistake, reported as such."""
    try:
        return UUID(value)
    except ValueError as exc:
        raise InvalidArgument(f"{what} is not a valid id: {value!r}") from exc
