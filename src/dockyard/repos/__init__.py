"""Repositories: lifecycle, naming, git storage, commits and refs."""
