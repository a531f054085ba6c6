from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path

import pytest

from pipeline.config import ScioConfig, load_config
from pipeline.ingest import Corpus, ingest
from pipeline.records import Page
from pipeline.readers.scio import parse_scio_page
from pipeline.speakers import SpeakerDirectory
from pipeline import inputs

ROOT = Path(__file__).resolve().parents[1]
TRANSCRIPTS = ROOT / "data" / "transcripts"


@pytest.fixture(scope="session")
def default_loaded():
    return load_config(ROOT / "configs" / "default.yaml")


@pytest.fixture(scope="session")
def registry(default_loaded):
    return inputs.read_registry(default_loaded)


@pytest.fixture(scope="session")
def directory(registry):
    return SpeakerDirectory(registry, ScioConfig().outlets)


@pytest.fixture(scope="session")
def bundled_corpus(default_loaded, registry) -> Corpus:
    files, _ = inputs.resolve_inputs(default_loaded)
    return ingest(inputs.read_sources(files, ROOT), default_loaded.config.corpus, registry)


@pytest.fixture(scope="session")
def context(default_loaded, registry):
    """What a reader gets: the default corpus config, the registry, the procedural rules."""
    from pipeline.readers import ReaderContext
    from pipeline.speakers import ProceduralRules

    cfg = default_loaded.config.corpus
    return ReaderContext(cfg, SpeakerDirectory(registry, cfg.scio.outlets),
                         ProceduralRules.compile(cfg.scio.procedural_patterns, cfg.scio.procedural_max_words))


@pytest.fixture
def parse(directory):
    def _parse(text: str, name: str = "page.txt") -> Page:
        return parse_scio_page(text, name, ScioConfig(), directory)

    return _parse


# Every stage of a run, with fewer refits than the default; QUICK_FITS also shortens the default
# LDA's sampling. For tests of what a run does rather than of what its models find: the suite
# stays within its time on two cores. NO_FIGURES for tests that read no figure (half a small run).
FEWER_REFITS = ("--set", "evaluate.stability_seeds=2", "--set", "evaluate.resamples=2", "--set", "compare.refit_draws=2",
                "--set", "evaluate.coherence_bootstrap=2")
QUICK_FITS = (*FEWER_REFITS, "--set", "models.0.params.iterations=100")
NO_FIGURES = ("--set", "figures.draw=false")


def make_project(folder: Path) -> Path:
    """A throwaway project: pyproject marker, the configs, and the sample transcripts."""
    (folder / "pyproject.toml").write_text("[project]\nname='x'\n")
    shutil.copytree(ROOT / "configs", folder / "configs")
    shutil.copytree(TRANSCRIPTS, folder / "data" / "transcripts")
    return folder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


def make_default_runs(project: Path) -> None:
    """Runs of configs/default.yaml in a throwaway project: a and b identical, c with one model changed."""
    from pipeline.cli import main

    make_project(project)
    config = str(project / "configs" / "default.yaml")
    codes = [main(["run", config, "-q", "--set", "run.name=a", "--set", "figures.pdf=true"])]
    # b reruns a's own resolved config, as the README tells a reader to reproduce a cited run.
    codes.append(main(["run", str(project / "outputs" / "a" / "config.yaml"), "-q", "--set", "run.name=b"]))
    log = io.StringIO()
    with contextlib.redirect_stderr(log):  # the CLI's log handler writes to sys.stderr as it finds it
        codes.append(main(["run", config, "--set", "run.name=c", "--set", "models.1.k=6", *QUICK_FITS]))
    assert codes == [0, 0, 0]
    (project / "run_c.log").write_text(log.getvalue())


@pytest.fixture(scope="session")
def default_runs(tmp_path_factory) -> Path:
    """The outputs folder of a project holding the default runs (``make_default_runs``).

    The runs are made once for the whole session: under pytest-xdist the first worker to need
    them makes them in a folder all workers share (the others wait on a lock), and each worker
    reads its own copy, so that no test sees another worker's writes."""
    import fcntl

    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        project = tmp_path_factory.mktemp("project")
        make_default_runs(project)
        return project / "outputs"
    shared = tmp_path_factory.getbasetemp().parent / "default_runs"
    with open(f"{shared}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / ".complete").exists():
            shutil.rmtree(shared, ignore_errors=True)  # a worker that died while making them
            shared.mkdir()
            make_default_runs(shared)
            (shared / ".complete").touch()
    project = tmp_path_factory.mktemp("project")
    shutil.copytree(shared, project, dirs_exist_ok=True, symlinks=True)
    return project / "outputs"


def pytest_collection_modifyitems(items: list) -> None:
    """One test that needs the default runs first, then the tests that do not, then the rest:
    under pytest-xdist the first worker makes the runs while the other works through tests that
    need none, instead of waiting on the lock (the order within each part is kept)."""
    needing = [item for item in items if "default_runs" in getattr(item, "fixturenames", ())]
    if needing:
        others = [item for item in items if "default_runs" not in getattr(item, "fixturenames", ())]
        items[:] = needing[:1] + others + needing[1:]
