"""``strangler db``: migrate the databases."""

from __future__ import annotations

import click

from strangler_cli.databases import DATABASES, Database, alembic_config, downgrade, upgrade


def _selected(name: str) -> list[Database]:
    if name == "all":
        return list(DATABASES.values())
    if name not in DATABASES:
        raise click.BadParameter(f"unknown database {name!r}; choose from "
                                 f"{', '.join([*DATABASES, 'all'])}")
    return [DATABASES[name]]


@click.group()
def db() -> None:
    """Migrate databases (one Alembic environment each, under migrations/)."""


@db.command("upgrade")
@click.argument("name")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(name: str, revision: str) -> None:
    """Migrate NAME (monolith, ... or all) up to REVISION."""
    for database in _selected(name):
        upgrade(database, database.url(), revision)
        click.echo(f"{database.name}: at {revision}")


@db.command("downgrade")
@click.argument("name")
@click.option("--revision", default="base", show_default=True)
@click.confirmation_option(prompt="This drops data. Continue?")
def db_downgrade(name: str, revision: str) -> None:
    """Migrate NAME down to REVISION (default: drop everything)."""
    for database in _selected(name):
        downgrade(database, database.url(), revision)
        click.echo(f"{database.name}: at {revision}")


@db.command("revision")
@click.argument("name")
@click.option("-m", "--message", required=True, help="What the revision changes.")
@click.option("--rev-id", help="The revision id (default: the next number, 0003 after 0002).")
def db_revision(name: str, message: str, rev_id: str | None) -> None:
    """Autogenerate a revision of NAME from its metadata (against its database at head)."""
    (database,) = _selected(name)
    config = alembic_config(database, database.url())
    existing = sorted(p.name[:4] for p in (database.script_location / "versions").glob("*.py")
                      if p.name[:4].isdigit())
    rev_id = rev_id or f"{int(existing[-1]) + 1 if existing else 1:04d}"
    from alembic import command

    upgrade(database, database.url())
    command.revision(config, message, autogenerate=True, rev_id=rev_id)
    click.echo(f"{database.name}: wrote revision {rev_id}; review it before committing")
