"""Alembic environment of the monolith's database."""

from legacy_monolith.schema import metadata
from strangler_cli.databases import run_environment

run_environment(metadata)
