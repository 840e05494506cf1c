"""Module boundaries: import-linter keeps them, and a violation really fails the check."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

PACKAGES = ("legacy_monolith", "strangler_messaging", "strangler_proxy", "strangler_cli",
            "strangler_http", "extracted")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH puts the tree under test ahead of the editable install of the repository.
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, text=True,
                          capture_output=True, timeout=120, check=False)


def _copy_tree(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def test_the_repository_keeps_every_contract() -> None:
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_module_importing_another_module_breaks_the_check(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    facade = root / "legacy_monolith" / "orders" / "facade.py"
    facade.write_text(facade.read_text() + "\nfrom legacy_monolith.catalog import models\n")
    result = _lint(root)
    assert result.returncode != 0
    assert "Monolith modules are independent of each other BROKEN" in result.stdout
    assert "legacy_monolith.orders.facade -> legacy_monolith.catalog.models" in result.stdout


def test_the_messaging_library_importing_flask_breaks_the_check(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    envelope = root / "strangler_messaging" / "envelope.py"
    envelope.write_text(envelope.read_text() + "\nimport flask\n")
    result = _lint(root)
    assert result.returncode != 0
    assert "The messaging library imports no web framework and no deployable BROKEN" in (
        result.stdout)
