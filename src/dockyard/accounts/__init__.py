"""Users, organisations, memberships and access tokens."""
