"""The storefront client's boundary: importing the rest of the repository fails the check."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import REPO
from tests.integration.test_architecture import _copy_tree, _lint


def _copy_with_new_packages(tmp_path: Path) -> Path:
    root = _copy_tree(tmp_path)
    for package in ("storefront", "strangler_contracts"):
        shutil.copytree(REPO / package, root / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_the_storefront_importing_the_messaging_library_breaks_the_check(
        tmp_path: Path) -> None:
    root = _copy_with_new_packages(tmp_path)
    client = root / "storefront" / "_client.py"
    client.write_text(client.read_text() + "\nfrom strangler_messaging import CloudEvent\n")
    result = _lint(root)
    assert result.returncode != 0
    assert "The storefront client imports nothing of this repository BROKEN" in result.stdout
    assert "storefront._client -> strangler_messaging" in result.stdout


def test_a_deployable_importing_contract_verification_breaks_the_check(tmp_path: Path) -> None:
    root = _copy_with_new_packages(tmp_path)
    queries = root / "extracted" / "catalog" / "queries.py"
    queries.write_text(queries.read_text() + "\nimport strangler_contracts.pacts\n")
    result = _lint(root)
    assert result.returncode != 0
    assert "Nothing but the CLI imports contract verification BROKEN" in result.stdout
