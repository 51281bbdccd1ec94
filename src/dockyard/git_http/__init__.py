"""git smart HTTP (clone, fetch, pull, push) delegating to ``git http-backend``; see routes.py."""
