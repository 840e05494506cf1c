"""Alembic environment of the proxy's database (route table, audit, verifications)."""

from strangler_cli.databases import run_environment
from strangler_proxy.tables import metadata

run_environment(metadata)
