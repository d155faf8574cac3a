"""Alembic environment of the data database."""
