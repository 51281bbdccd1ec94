"""Discussions and pull requests: numbers, events, permissions and the three-way merge."""
