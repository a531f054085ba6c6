"""Extending the pipeline without touching pipeline/: a new input format and a new backend,
defined in this file only, registered, and run end to end through the command line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import numpy as np
import pytest
import yaml
from pydantic import Field

from pipeline.cli import main
from pipeline.models import BACKENDS, Backend, Fit, register as register_backend
from pipeline.readers import READERS, Reader, ReaderContext, decode_source, register as register_reader
from pipeline.records import Dropped, Kept, Page, Paragraph, SkippedFile, Turn
from pipeline.rundir import load_run
from pipeline.sections import ModelSection, Section
from pipeline.speakers import assign_kinds


def read_tagged_lines(source_file: str, data: bytes, context: ReaderContext) -> list[Page] | SkippedFile:
    """``# title | YYYY-MM-DD`` on the first line, then one turn a line: ``role|speaker|text``."""
    text = decode_source(source_file, data)
    if isinstance(text, SkippedFile):
        return text
    lines = text.split("\n")
    title, date = (part.strip() for part in lines[0].lstrip("# ").split("|"))
    dispositions = {1: Dropped("header")}
    turns = []
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        role, speaker, said = line.split("|", 2)
        dispositions[number] = Kept(len(turns), 0)
        turns.append(Turn(speaker, [Paragraph(said.strip(), number, number)], speaker=speaker, role=role,
                          outlet=speaker if role == "journalist" else ""))
    warnings = assign_kinds(turns, opens_conference=True, rules=context.rules)
    return [Page(source_file, title, dt.date.fromisoformat(date), "input_column", turns, dispositions, warnings)]


class TermBlocksParams(Section):
    smoothing: float = Field(1e-3, gt=0)


class TermBlocksConfig(ModelSection):
    backend: Literal["term_blocks"]
    params: TermBlocksParams = TermBlocksParams()


def fit_term_blocks(cfg: TermBlocksConfig, seed: int, matrices) -> Fit:
    """Not a topic model: term i belongs to topic i mod k. Enough to exercise every stage."""
    counts = matrices.counts.toarray()
    blocks = np.zeros((counts.shape[1], cfg.k))
    blocks[np.arange(counts.shape[1]), np.arange(counts.shape[1]) % cfg.k] = 1.0
    topic_term = blocks.T * counts.sum(axis=0) + cfg.params.smoothing
    return Fit(topic_term, counts @ blocks + cfg.params.smoothing, topic_term, 1)


def save_term_blocks(native: np.ndarray, folder: Path) -> None:
    np.save(folder / "term_blocks.npy", native)


def load_term_blocks(folder: Path) -> np.ndarray:
    return np.load(folder / "term_blocks.npy")


TAGGED_LINES = Reader(name="tagged_lines", read=read_tagged_lines)
TERM_BLOCKS = Backend(name="term_blocks", family="lda", config=TermBlocksConfig, fit=fit_term_blocks,
                      save=save_term_blocks, load=load_term_blocks)

CHIPS = "semiconductor wafer foundry lithography chip design fab yield packaging memory".split()
STEEL = "steel coal furnace emission carbon capacity ore smelting plant output".split()


def conference(rng: np.random.Generator, title: str, date: str) -> str:
    lines = [f"# {title} | {date}", "moderator|Zhou Min|Good morning. Questions please."]
    for index in range(8):
        official = "Li Wei" if index % 2 == 0 else "Wang Fang"
        words = CHIPS if official == "Li Wei" else STEEL
        lines.append(f"journalist|Daily News|What is the plan for {words[index]} this year?")
        lines.append(f"official|{official}|" + " ".join(rng.choice(words + STEEL[:2], 30)) + ".")
    return "\n".join(lines) + "\n"


@pytest.fixture
def extended_project(tmp_path: Path):
    register_reader(TAGGED_LINES)
    register_backend(TERM_BLOCKS)
    rng = np.random.default_rng(0)
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")
    (tmp_path / "data").mkdir()
    for number, date in enumerate(["2021-03-01", "2022-02-28"]):
        (tmp_path / "data" / f"c{number}.tl").write_text(conference(rng, f"Briefing {number}", date))
    config = {
        "run": {"name": "ext"},
        "corpus": {"inputs": ["data/*.tl"], "format": "tagged_lines", "speakers": None},
        "normalize": {"stopwords": {"files": []}, "phrases": {"enabled": False}, "vocabulary": {"no_above": 1.0}},
        "models": [{"name": "blocks", "backend": "term_blocks", "k": 2, "params": {"smoothing": 0.01}},
                   {"name": "nmf", "backend": "sklearn_nmf", "k": 2}],
        "compare": {"contrasts": {"li_vs_wang": {"speaker": ["Li Wei", "Wang Fang"]}},
                    "permutations": 200},
        "evaluate": {"stability_seeds": 3},  # two refits: they run in worker processes
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    yield tmp_path
    del READERS["tagged_lines"], BACKENDS["term_blocks"]


def test_a_new_reader_and_backend_run_end_to_end(extended_project):
    assert main(["run", str(extended_project / "config.yaml"), "-q"]) == 0
    run = load_run(extended_project / "outputs" / "ext")
    assert len(run.conferences) == 2 and set(run.conferences.year) == {2021, 2022}
    answers = run.turns[run.turns.kind == "answer"]
    assert len(answers) == 16 and set(answers.speaker) == {"Li Wei", "Wang Fang"}
    blocks = run.models["blocks"]
    assert blocks.metrics["backend"] == "term_blocks" and blocks.metrics["params"] == {"smoothing": 0.01}
    assert len(blocks.answer_topics) == 16 and blocks.topic_terms.topic.nunique() == 2
    assert np.allclose(blocks.answer_topics[["topic_0", "topic_1"]].sum(axis=1), 1, atol=1e-6)
    assert blocks.fitted().shape == blocks.topic_term()[1].shape  # saved and loaded by the backend's own code
    assert set(blocks.emphasis["contrasts"].contrast) == {"li_vs_wang"}
    # The new backend is LDA-family, so it is aligned with the NMF model like any LDA.
    assert set(zip(run.alignment.model_a, run.alignment.model_b)) == {("blocks", "nmf")}
    report = (extended_project / "outputs" / "ext" / "report.md").read_text()
    assert "Model `blocks` (term_blocks, k = 2" in report and "contrast_li_vs_wang_blocks.png" in report
    labels = extended_project / "labels.yaml"
    labels.write_text("blocks: {0: First block}\n")
    assert main(["report", str(extended_project / "outputs" / "ext"), "--labels", str(labels), "-q"]) == 0
    assert "First block" in (extended_project / "outputs" / "ext" / "models" / "blocks" / "topics.md").read_text()


def test_registered_names_are_what_a_config_may_name(extended_project, capsys):
    config = str(extended_project / "config.yaml")
    assert main(["validate", config]) == 0
    assert main(["validate", config, "--set", "models.0.backend=term_block"]) == 2
    assert "expected tags: 'gensim_lda', 'sklearn_lda', 'sklearn_nmf', 'tomotopy_lda', 'tomotopy_dmr', 'term_blocks'" in \
        capsys.readouterr().err
    assert main(["validate", config, "--set", "models.0.params.passes=3"]) == 2
    assert capsys.readouterr().err == "error: config error: models.0.params.passes: unknown key\n"
    assert main(["validate", config, "--set", "corpus.format=tagged"]) == 2
    assert "corpus.format: Input should be 'scio', 'html', 'csv', 'jsonl' or 'tagged_lines'" in capsys.readouterr().err
