"""Gated repositories: users ask for access (with the fields the card asks for); owners decide."""
