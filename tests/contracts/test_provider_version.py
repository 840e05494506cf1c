"""The provider version a verification is recorded under."""

from __future__ import annotations

import re
import subprocess
from importlib import metadata
from pathlib import Path

from strangler_contracts.version import DISTRIBUTION, git_branch, provider_version


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_a_clean_checkout_is_its_short_commit_and_a_changed_one_is_dirty(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q", "-b", "trunk")
    (tmp_path / "file.txt").write_text("one\n")
    _git(tmp_path, "add", "file.txt")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm",
         "one")
    clean = provider_version(tmp_path)
    assert re.fullmatch(r"[0-9a-f]{7,}", clean)
    assert git_branch(tmp_path) == "trunk"
    (tmp_path / "file.txt").write_text("two\n")
    assert provider_version(tmp_path) == f"{clean}-dirty"


def test_outside_a_checkout_it_is_the_package_version(tmp_path: Path) -> None:
    assert provider_version(tmp_path) == metadata.version(DISTRIBUTION)
    assert git_branch(tmp_path) is None
