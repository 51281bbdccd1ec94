"""Collections: curated, ordered lists of repos (and other collections) owned by a user or an org."""
