"""On SQLite, the audit lookup tables move to a file of their own (engines.lookup_engine).

Copying thousands of events into them held the data file's one write lock for 50-160 ms,
and every audited call waited behind it for the trail's next commit (docs/performance.md).
Here the tables leave the data file; the lookup engine creates them in the lookup file
and the copies refill them from the trail, which lookups read meanwhile. On PostgreSQL,
where a copy holds no lock a commit of the trail waits for, nothing changes.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

from strongroom.storage.schema import (
    audit_lookup_events,
    audit_lookup_heads,
    audit_lookup_resources,
)

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_TABLES = (audit_lookup_resources, audit_lookup_events, audit_lookup_heads)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in _TABLES:
        op.drop_table(table.name)


def downgrade() -> None:
    """Empty tables in the data file again: the copies refill them from the trail."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for table in _TABLES:
        table.create(bind)
