"""The three notebooks, executed against the default run: any error fails the suite."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from pipeline.cli import main
from tests.conftest import NO_FIGURES, QUICK_FITS, ROOT, make_project

NOTEBOOKS = ["01_corpus.ipynb", "02_topics.ipynb", "03_emphasis.ipynb"]


def test_notebooks_are_stored_without_outputs():
    for name in NOTEBOOKS:
        notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        assert all(not cell.get("outputs") and cell.get("execution_count") is None
                   for cell in notebook.cells if cell.cell_type == "code")


def execute_notebooks(run: Path, project: Path, monkeypatch) -> None:
    """Runs the three notebooks on ``run`` from ``project``/notebooks; any error fails."""
    (project / "notebooks").mkdir(exist_ok=True)  # they run from <project>/notebooks
    monkeypatch.setenv("PIPELINE_RUN", str(run))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # ipykernel's spec starts a bare "python": make it this interpreter, as `make test` does not activate .venv.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    notebooks = [nbformat.read(ROOT / "notebooks" / name, as_version=4) for name in NOTEBOOKS]
    # Cells read source files relative to the project; the run's project is the test's copy.
    clients = [NotebookClient(notebook, timeout=120, kernel_name="python3",
                              resources={"metadata": {"path": str(project / "notebooks")}})
               for notebook in notebooks]

    async def execute_all():  # one kernel per notebook, side by side
        await asyncio.gather(*(client.async_execute() for client in clients))

    asyncio.run(execute_all())
    for notebook in notebooks:
        outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
        assert not [o for o in outputs if o.output_type == "error"]
        assert len(outputs) >= 4
    browser = [o for cell in notebooks[1].cells if cell.get("id") == "topic-browser-inline" for o in cell.outputs]
    shown = "".join(o.get("data", {}).get("text/html", "") + o.get("text", "") for o in browser)
    # The browser inline where the run has one (its own page, escaped into the frame), else why not.
    assert ("<iframe srcdoc=" in shown) == (Path(os.environ["PIPELINE_RUN"]) / "topics.html").is_file()


def test_notebooks_run_against_the_default_run(default_runs, monkeypatch):
    execute_notebooks(default_runs / "a", default_runs.parent, monkeypatch)


@pytest.mark.parametrize("layout", ["csv", "inline"])
def test_notebooks_run_on_runs_of_other_layouts(tmp_path, monkeypatch, layout):
    # The CSV example's run, and a run on the White House pages (inline labels, a contrast the
    # design refuses), given as a path relative to the project.
    project = make_project(tmp_path)
    shutil.copytree(ROOT / "data" / "examples", project / "data" / "examples")
    shutil.copytree(ROOT / "data" / "other_layouts", project / "data" / "other_layouts")
    arguments = {"csv": ["configs/csv_example.yaml", "--set", "run.name=csv"],
                 "inline": ["configs/default.yaml", "--set", "run.name=inline", "--set",
                            "corpus.inputs=[data/other_layouts/whitehouse/*.md]", "--set",
                            "compare.contrasts={psaki_vs_kirby: {speaker: [Psaki, Kirby]}}"]}[layout]
    assert main(["run", str(project / arguments[0]), *arguments[1:], "-q", *QUICK_FITS, *NO_FIGURES]) == 0
    monkeypatch.chdir(project)
    execute_notebooks(Path("outputs") / layout, project, monkeypatch)
