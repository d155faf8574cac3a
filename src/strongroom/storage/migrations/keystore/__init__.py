"""Alembic environment of the keystore database."""
