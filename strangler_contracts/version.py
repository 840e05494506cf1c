"""Which provider version a verification is recorded for."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DISTRIBUTION = "strangler-fig-reference"


def provider_version(repo: Path = REPO) -> str:
    """The short git commit, plus ``-dirty`` when the work tree has changes; the package
    version when ``repo`` is not a git checkout (an installed copy)."""
    commit = _git(repo, "rev-parse", "--short", "HEAD")
    if commit is None:
        return metadata.version(DISTRIBUTION)
    dirty = _git(repo, "status", "--porcelain", "--untracked-files=no")
    return f"{commit}-dirty" if dirty else commit


def git_branch(repo: Path = REPO) -> str | None:
    """The checked-out branch, or None (detached HEAD, no git)."""
    branch = _git(repo, "rev-parse", "--abbrev-ref", "HEAD")
    return None if branch in (None, "HEAD") else branch


def _git(repo: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True,
                                text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None
