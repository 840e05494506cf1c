"""``strangler db``: migrate the databases."""

from __future__ import annotations

import click

from strangler_cli.databases import DATABASES, Database, downgrade, upgrade


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
