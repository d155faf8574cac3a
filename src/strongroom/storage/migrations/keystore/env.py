"""Alembic environment of the keystore database; run by strongroom.storage.migrate only."""

from __future__ import annotations

from alembic import context

from strongroom.storage.schema import keystore_metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=keystore_metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
