"""The catalog service's boundary: importing the monolith really fails the import check."""

from __future__ import annotations

from pathlib import Path

from tests.integration.test_architecture import _copy_tree, _lint


def test_the_catalog_service_importing_the_monolith_breaks_the_check(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    queries = root / "extracted" / "catalog" / "queries.py"
    queries.write_text(queries.read_text() + "\nfrom legacy_monolith.catalog import models\n")
    result = _lint(root)
    assert result.returncode != 0
    broken = "Extracted services import no monolith, no CLI and no contract harness BROKEN"
    assert broken in result.stdout
    assert "extracted.catalog.queries -> legacy_monolith.catalog.models" in result.stdout
