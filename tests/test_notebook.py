"""The walkthrough notebook runs from top to bottom on the real data."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "walkthrough.ipynb"

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def _outputs_text(nb) -> str:
    parts: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif "data" in out:
                parts.append(str(out["data"].get("text/plain", "")))
    return "\n".join(parts)


def test_walkthrough_notebook_runs(dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    # The ``dataset`` fixture loads (or skips on missing) the real data first.
    # Jupyter's deprecated platform-dirs path would warn, and warnings are errors here.
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    env_dir = os.environ.get("FOOTPRINT_DATA_DIR")
    if env_dir:  # the kernel inherits the environment; make a relative folder absolute
        monkeypatch.setenv("FOOTPRINT_DATA_DIR", str(Path(env_dir).resolve()))
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=600,
        resources={"metadata": {"path": str(ROOT)}},
    )
    client.execute()  # raises CellExecutionError on any failing cell

    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors
    text = _outputs_text(nb)
    assert "211 CCGs, 56,324,887 registered patients" in text
    match = re.search(r"^(\d+) footprints \(proven upper bound", text, flags=re.MULTILINE)
    assert match, text[:2000]
    assert int(match.group(1)) >= 80
    assert "violations: 0" in text
    assert "GeoPackage of" in text
