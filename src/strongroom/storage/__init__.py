"""Storage: SQLAlchemy Core schema, repositories (SQLite, PostgreSQL), migrations."""
