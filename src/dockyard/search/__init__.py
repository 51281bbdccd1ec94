"""Listing, filtering, sorting and searching repos (the /api/models, /api/datasets, /api/spaces)."""
