"""Alembic migrations: one script directory per database (data, keystore)."""
