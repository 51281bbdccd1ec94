"""Metadata database: declarative base, engine/session factory and Alembic migrations."""
