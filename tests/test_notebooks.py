"""The three notebooks, executed against the default run: any error fails the suite."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.conftest import ROOT

NOTEBOOKS = ["01_corpus.ipynb", "02_topics.ipynb", "03_emphasis.ipynb"]


def test_notebooks_are_stored_without_outputs():
    for name in NOTEBOOKS:
        notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        assert all(not cell.get("outputs") and cell.get("execution_count") is None
                   for cell in notebook.cells if cell.cell_type == "code")


def test_notebooks_run_against_the_default_run(default_runs, monkeypatch):
    run = default_runs / "a"
    (default_runs.parent / "notebooks").mkdir(exist_ok=True)  # they run from <project>/notebooks
    monkeypatch.setenv("PIPELINE_RUN", str(run))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # ipykernel's spec starts a bare "python": make it this interpreter, as `make test` does not activate .venv.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    start = time.perf_counter()
    notebooks = [nbformat.read(ROOT / "notebooks" / name, as_version=4) for name in NOTEBOOKS]
    # Cells read source files relative to the project; the run's project is the test's copy.
    clients = [NotebookClient(notebook, timeout=120, kernel_name="python3",
                              resources={"metadata": {"path": str(default_runs.parent / "notebooks")}})
               for notebook in notebooks]

    async def execute_all():  # one kernel per notebook, side by side
        await asyncio.gather(*(client.async_execute() for client in clients))

    asyncio.run(execute_all())
    for notebook in notebooks:
        outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
        assert not [o for o in outputs if o.output_type == "error"]
        assert len(outputs) >= 4
    assert time.perf_counter() - start < 60

