"""The Hub-compatible HTTP surface: thin adapters from HTTP to the domains."""
