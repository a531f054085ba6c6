"""Command line: ``python -m pipeline {run,ingest,validate,sweep,bench,report} ...``.

Argument parsing and dispatch only; the work is in ``workflow`` (and ``bench``). Problems with
the config or inputs print one line (``error: ...``) and exit with code 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from pipeline import bench, workflow
from pipeline.config import load_config
from pipeline.errors import PipelineError

log = logging.getLogger("pipeline")

CONFIG_COMMANDS = {
    "run": "run the whole pipeline from a config",
    "ingest": "ingest transcripts only and write the corpus tables",
    "validate": "check a config (and its overrides) without running anything",
    "sweep": "fit a grid of k, seeds and backends; suggest k (resumes an interrupted sweep)",
}


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in CONFIG_COMMANDS.items():
        command = commands.add_parser(name, help=help_text, parents=[common])
        command.add_argument("config", type=Path)
        command.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                             help="override a config value by dotted path, e.g. corpus.units.min_words=30")
    bench_command = commands.add_parser(
        "bench", parents=[common], help="time each stage on the bundled corpus and slices of the scale corpus")
    bench_command.add_argument("config", type=Path, nargs="?", default=Path("configs/default.yaml"))
    bench_command.add_argument("--full", action="store_true", help="also run 100%% of the scale corpus")
    bench_command.add_argument("--json", action="store_true", help="print JSON instead of a table")
    bench_command.add_argument("--scale", type=Path, help="the scale corpus (default ../shared/bench/...jsonl.gz)")
    report_command = commands.add_parser(
        "report", parents=[common], help="re-render tables, figures and reports of a run with topic labels")
    report_command.add_argument("run_dir", type=Path)
    report_command.add_argument("--labels", type=Path, help="YAML: {model: {topic id: label}}")
    return parser


def _dispatch(args: argparse.Namespace) -> None:
    if args.command == "report":
        workflow.relabel(args.run_dir, args.labels)
    elif args.command == "bench":
        results = bench.run_bench(args.config, full=args.full, scale_file=args.scale)
        print(json.dumps(results, indent=2) if args.json else bench.table(results))
    else:
        loaded = load_config(args.config, args.overrides)
        if args.command == "validate":
            print(f"{args.config}: valid (sha256 {loaded.config.sha256()})")
        elif args.command == "ingest":
            workflow.execute(loaded, with_models=False)
        elif args.command == "sweep":
            workflow.run_sweep(loaded)
        else:
            workflow.execute(loaded)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Our progress at INFO; libraries (gensim logs every pass at INFO) only at WARNING.
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr, force=True)
    log.setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        _dispatch(args)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
