"""Command line: ``python -m pipeline {run,ingest,validate} CONFIG [--set key=value ...]``.

Problems with the config or inputs print one line (``error: ...``) and exit with code 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pipeline.config import LoadedConfig, load_config
from pipeline.errors import PipelineError
from pipeline.ingest import Corpus, ingest
from pipeline import runs

log = logging.getLogger("pipeline")


def _corpus_files(corpus: Corpus, into: Path) -> None:
    runs.write_csv(corpus.conferences, into / "corpus" / "conferences.csv")
    runs.write_csv(corpus.turns, into / "corpus" / "turns.csv")
    runs.write_csv(corpus.paragraphs, into / "corpus" / "paragraphs.csv")
    runs.write_json(corpus.report, into / "corpus" / "ingest_report.json")


def _summarise(corpus: Corpus) -> None:
    totals = corpus.report["totals"]
    log.info(
        "corpus: %d files parsed, %d skipped; %d conferences, %d turns, %d paragraphs (%d duplicates); "
        "%d lines kept, %d dropped",
        totals["files_parsed"], totals["files_skipped"], totals["conferences"], totals["turns"],
        totals["paragraphs"], totals["duplicate_paragraphs"], totals["lines_kept"], totals["lines_dropped"],
    )
    for entry in corpus.report["files"]:
        if entry["status"] == "skipped":
            log.warning("skipped %s: %s", entry["source_file"], entry["reason"])
        for warning in entry.get("warnings", []):
            log.warning("%s: %s", entry["source_file"], warning)
        if entry.get("unknown_speakers"):
            log.warning("%s: unknown speakers (add them to the registry): %s",
                        entry["source_file"], ", ".join(entry["unknown_speakers"]))
    for pattern in corpus.report["unmatched_inputs"]:
        log.warning("corpus.inputs: %s matches no file", pattern)
    for note in corpus.report["notes"]:
        log.warning(note)


def run_ingest(loaded: LoadedConfig) -> Path:
    """Ingestion alone: corpus tables, report, config and manifest in the run directory."""
    return execute(loaded, models=False)


def execute(loaded: LoadedConfig, *, models: bool = True) -> Path:
    cfg = loaded.config
    timer = runs.StageTimer()
    files, unmatched = runs.resolve_inputs(loaded)
    registry = runs.read_registry(loaded)
    with timer.stage("ingest"):
        sources = runs.read_sources(files, loaded.root)
        corpus = ingest(sources, cfg.corpus, registry, unmatched_inputs=unmatched)
    _summarise(corpus)
    target = loaded.resolve(cfg.run.output_dir) / cfg.run.name
    with runs.staged_directory(target) as staging:
        _corpus_files(corpus, staging)
        runs.write_text(cfg.to_yaml(), staging / "config.yaml")
        runs.write_json(runs.manifest(loaded, sources, timer), staging / "manifest.json")
    log.info("wrote %s", runs.display_path(target, loaded.root))
    return target


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("run", "run the whole pipeline from a config"),
        ("ingest", "ingest transcripts only and write the corpus tables"),
        ("validate", "check a config (and its overrides) without running anything"),
    ):
        command = commands.add_parser(name, help=help_text, parents=[common])
        command.add_argument("config", type=Path)
        command.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                             help="override a config value by dotted path, e.g. corpus.units.min_words=30")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s",
                        stream=sys.stderr, force=True)
    try:
        loaded = load_config(args.config, args.overrides)
        if args.command == "validate":
            print(f"{args.config}: valid (sha256 {loaded.config.sha256()})")
        elif args.command == "ingest":
            run_ingest(loaded)
        else:
            execute(loaded)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
