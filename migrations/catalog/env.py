"""Alembic environment of the catalog service's database."""

from alembic import context
from sqlalchemy import Connection

from extracted.catalog.tables import metadata
from strangler_messaging.db import make_engine


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        user_module_prefix="strangler_messaging.",
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    """Migrate the connection the caller handed over, or one opened from the configured URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


run()
