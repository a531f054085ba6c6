from __future__ import annotations

import contextlib
import io
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


@pytest.fixture
def parse(directory):
    def _parse(text: str, name: str = "page.txt") -> Page:
        return parse_scio_page(text, name, ScioConfig(), directory)

    return _parse


def make_project(folder: Path) -> Path:
    """A throwaway project: pyproject marker, the configs, and the sample transcripts."""
    (folder / "pyproject.toml").write_text("[project]\nname='x'\n")
    shutil.copytree(ROOT / "configs", folder / "configs")
    shutil.copytree(TRANSCRIPTS, folder / "data" / "transcripts")
    return folder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


@pytest.fixture(scope="session")
def default_runs(tmp_path_factory) -> Path:
    """Runs of configs/default.yaml in a throwaway project: a and b identical, c with one model changed."""
    from pipeline.cli import main

    project = make_project(tmp_path_factory.mktemp("project"))
    config = str(project / "configs" / "default.yaml")
    codes = [main(["run", config, "-q", "--set", "run.name=a", "--set", "figures.pdf=true"])]
    # b reruns a's own resolved config, as the README tells a reader to reproduce a cited run.
    codes.append(main(["run", str(project / "outputs" / "a" / "config.yaml"), "-q", "--set", "run.name=b"]))
    log = io.StringIO()
    with contextlib.redirect_stderr(log):  # the CLI's log handler writes to sys.stderr as it finds it
        codes.append(main(["run", config, "--set", "run.name=c", "--set", "models.1.k=6"]))
    assert codes == [0, 0, 0]
    (project / "run_c.log").write_text(log.getvalue())
    return project / "outputs"
