"""docs/lab.ipynb runs top to bottom (nbclient), in a kernel on this interpreter, so the notebook cannot go stale."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from conftest import require

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "lab.ipynb"


def test_lab_notebook_executes(tmp_path, monkeypatch):
    require(all(importlib.util.find_spec(m) for m in ("nbclient", "nbformat", "ipykernel")),
            "nbclient, nbformat and ipykernel are not installed (pip install 'mlplab[test]')")
    import nbformat
    from nbclient import NotebookClient

    # a kernelspec that runs this very interpreter (the venv's python), found first on JUPYTER_PATH
    spec = tmp_path / "kernels" / "mlplab-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "mlplab test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # figures as outputs
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, kernel_name="mlplab-test", timeout=120,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "|derived - engine|" in text and "test accuracy" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2  # the curves and the decision boundary
