"""examples/walkthrough.ipynb is stored without outputs and runs top to bottom in a fresh kernel."""

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "examples" / "walkthrough.ipynb"


def test_stored_without_outputs():
    data = json.loads(NOTEBOOK.read_text())
    code = [cell for cell in data["cells"] if cell["cell_type"] == "code"]
    assert code and all(cell["outputs"] == [] and cell["execution_count"] is None for cell in code)


def test_notebook_executes(monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    # the kernel is a new process: make it import this checkout's symscale, whatever is installed
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()          # raises CellExecutionError if any cell errors
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    rich = [o for o in outputs if o.output_type == "execute_result"]
    assert any("text/latex" in o.data and "\\begin{aligned}" in o.data["text/latex"] for o in rich)
    assert any("text/html" in o.data and "claim-c" in o.data["text/html"] for o in rich)
    assert any("text/html" in o.data and "Fit statistics" in o.data["text/html"] for o in rich)
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "ok: True" in text and "95% bootstrap interval" in text
    assert f"from {REPO / 'symscale' / '__init__.py'}" in text      # the kernel used this checkout
