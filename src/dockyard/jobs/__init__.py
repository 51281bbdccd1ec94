"""Background jobs: the queue and the worker machinery. Job bodies live in their domains."""
