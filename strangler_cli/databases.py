"""The databases of the system, where their URLs come from, and their Alembic environments."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy import Connection, Engine, MetaData

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


@dataclass(frozen=True, slots=True)
class Database:
    """One deployable's database."""

    name: str
    env_var: str
    has_outbox: bool = True

    @property
    def default_url(self) -> str:
        """The embedded default: a SQLite file under ``./var/``."""
        return f"sqlite:///var/{self.name}.db"

    def url(self, environ: Mapping[str, str] | None = None) -> str:
        """The URL from the environment, or the embedded default."""
        env = os.environ if environ is None else environ
        return env.get(self.env_var) or self.default_url

    @property
    def script_location(self) -> Path:
        """Its Alembic environment."""
        return MIGRATIONS / self.name


DATABASES = {
    db.name: db
    for db in (
        Database("monolith", "MONOLITH_DATABASE_URL"),
        Database("catalog", "CATALOG_DATABASE_URL"),
        Database("notifications", "NOTIFICATIONS_DATABASE_URL"),
        Database("proxy", "PROXY_DATABASE_URL", has_outbox=False),
    )
}


def alembic_config(database: Database, url: str, connection: Connection | None = None) -> Config:
    """An Alembic configuration for ``database`` at ``url`` (no ``alembic.ini`` needed)."""
    from alembic.config import Config  # imported when used: every CLI command loads this module

    config = Config()
    config.set_main_option("script_location", str(database.script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(database: Database, url: str, revision: str = "head") -> None:
    """Migrate ``database`` at ``url`` up to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(database, url), revision)


def downgrade(database: Database, url: str, revision: str = "base") -> None:
    """Migrate ``database`` at ``url`` down to ``revision``."""
    from alembic import command

    command.downgrade(alembic_config(database, url), revision)


def require_migrated(database: Database, engine: Engine) -> None:
    """Refuse to go on against a database that is not at its newest migration."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    head = ScriptDirectory.from_config(alembic_config(database, "")).get_current_head()
    if current != head:
        state = f"at revision {current}" if current else "not migrated"
        raise click.ClickException(
            f"database {database.name} is {state}, the code needs {head}: "
            f"run `strangler db upgrade {database.name}`")


def run_environment(metadata: MetaData) -> None:
    """The body of every ``migrations/<name>/env.py``: migrate the connection the caller handed
    over (tests), or one opened from the configured URL, against ``metadata``."""
    from alembic import context

    from strangler_messaging.db import make_engine

    def migrate(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=connection.dialect.name == "sqlite",
                          compare_type=True, user_module_prefix="strangler_messaging.")
        with context.begin_transaction():
            context.run_migrations()

    connection = context.config.attributes.get("connection")
    if connection is not None:
        migrate(connection)
        return
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        migrate(conn)
    engine.dispose()
