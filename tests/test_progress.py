"""Progress bars: where the long loops report, and when a bar is drawn."""

from __future__ import annotations

import io
import logging

from pipeline import inputs
from pipeline.config import CompareConfig
from pipeline.design import design_report
from pipeline.emphasis import emphasis_tables
from pipeline.ingest import ingest
from pipeline.progress import shown, within
from tests.conftest import ROOT
from tests.test_emphasis import answers_table


class Recorded:
    """A ``Progress`` that notes each bar's description, its total and how many items passed."""

    def __init__(self) -> None:
        self.bars: list[tuple[str, int, int]] = []

    def __call__(self, items, total, description):
        passed = 0
        for item in items:
            passed += 1
            yield item
        self.bars.append((description, total, passed))


def test_emphasis_reports_every_group_of_every_table_and_the_contrasts():
    rows = [("Xiao", "c1", 2021, "answer", 100, 0.2), ("Xiao", "c2", 2022, "answer", 100, 0.3),
            ("Tian", "c1", 2021, "answer", 100, 0.4), ("Tian", "c2", 2022, "answer", 100, 0.6)]
    answers = answers_table(rows)
    cfg = CompareConfig(by=("speaker", "year"), contrasts={"x": {"speaker": ["Xiao", "Tian"]}})
    recorded = Recorded()
    emphasis_tables(answers, 2, design_report(answers, cfg), cfg, 1, "m", within(recorded, "emphasis m"))
    assert recorded.bars == [("emphasis m: groups by speaker", 2, 2), ("emphasis m: groups by year", 2, 2),
                             ("emphasis m: contrasts", 1, 1)]


def test_ingest_reports_files_and_conferences(default_loaded, registry):
    files, _ = inputs.resolve_inputs(default_loaded)
    recorded = Recorded()
    corpus = ingest(inputs.read_sources(files, ROOT), default_loaded.config.corpus, registry, progress=recorded)
    assert recorded.bars == [("files", len(files), len(files)),
                             ("building conferences", len(corpus.conferences), len(corpus.conferences))]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_is_drawn_on_a_terminal_only_and_not_when_quiet(monkeypatch):
    logger = logging.getLogger("pipeline")
    original = logger.level
    try:
        for stream, level, drawn in ((Terminal(), logging.INFO, True), (io.StringIO(), logging.INFO, False),
                                     (Terminal(), logging.WARNING, False)):
            monkeypatch.setattr("sys.stderr", stream)
            logger.setLevel(level)
            assert list(shown(range(3), 3, "evaluate lda: coherence c_v")) == [0, 1, 2]
            assert ("evaluate lda: coherence c_v" in stream.getvalue() and "0/3" in stream.getvalue()) is drawn
    finally:
        logger.setLevel(original)
