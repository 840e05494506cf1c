"""``python -m strangler_cli``: the same as the ``strangler`` command."""

from strangler_cli.main import cli

cli()
