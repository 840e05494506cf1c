"""Alembic environment of the catalog service's database."""

from extracted.catalog.tables import metadata
from strangler_cli.databases import run_environment

run_environment(metadata)
