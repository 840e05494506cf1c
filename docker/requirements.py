"""Print the runtime dependencies of ``pyproject.toml``, one requirement a line.

The Dockerfile installs these (under ``constraints.txt``) in a layer of their own before it
copies the sources, so editing code does not reinstall every dependency. Only
``[project].dependencies`` are printed: no optional extras, so no dev tools in the image.

Usage: ``python docker/requirements.py [pyproject.toml]``
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def runtime_requirements(pyproject: Path) -> list[str]:
    """The ``[project].dependencies`` of ``pyproject``, as written there."""
    with pyproject.open("rb") as file:
        return list(tomllib.load(file)["project"]["dependencies"])


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml")
    print("\n".join(runtime_requirements(path)))
