"""notebooks/quickstart.ipynb runs top to bottom (slow tier, CPU, the tiniest sizes: tic-tac-toe trains
one short iteration; RingRift renders, replays and plays with a fresh tiny net)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.extended  # CI budget (2026-12-06): 77 s on the loaded 2-core dev VM
def test_quickstart_notebook_runs(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("JAXZERO_NOTEBOOK_TINY", "1")
    monkeypatch.setenv("JAXZERO_NOTEBOOK_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    nb = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = {i: "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in c.get("outputs", []))
               for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    text = "\n".join(outputs.values())
    assert "tic-tac-toe best net from iteration 0" in text
    assert "the net answers:" in text
    html = tmp_path / "runs" / "sample_game.html"
    assert html.is_file() and html.read_text().count('class="frame"') >= 2
    assert (tmp_path / "runs" / "tictactoe" / "plots.png").is_file()
    svgs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if "image/svg+xml" in o.get("data", {})]
    assert len(svgs) == 2
