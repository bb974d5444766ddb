"""What the auth service decides: identities, sessions, keys, roles and access rules."""
