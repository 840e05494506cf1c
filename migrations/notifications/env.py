"""Alembic environment of the notifications service's database."""

from extracted.notifications.tables import metadata
from strangler_cli.databases import run_environment

run_environment(metadata)
