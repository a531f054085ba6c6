"""Command line: ``python -m pipeline {run,ingest,validate,sweep,bench,report} ...``.

Argument parsing and dispatch only; the work is in ``workflow`` (and ``bench``). This is the
one error boundary: a problem with the config, the inputs, the run directory or the machine
(disk full, read-only, I/O error) prints one line (``error: ...``) and exits with code 2; an
interrupt (SIGINT, SIGTERM) stops the worker processes, leaves the previous run as it was and
exits with 130 or 143. Anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import signal
import sys
from pathlib import Path

from pipeline import bench, cluster, interrupts, workflow
from pipeline.config import load_config
from pipeline.errors import PipelineError

log = logging.getLogger("pipeline")

CONFIG_COMMANDS = {
    "run": "run the whole pipeline from a config",
    "ingest": "ingest transcripts only and write the corpus tables",
    "validate": "check a config (and its overrides) and ingest its inputs to check the contrasts against "
                "the corpus; writes nothing",
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
        if name in ("run", "ingest"):
            command.add_argument("--strict", action="store_true",
                                 help="exit 2 when the design cannot identify a configured contrast")
        if name in ("run", "sweep"):
            command.add_argument("--scheduler", metavar="ADDRESS",
                                 help="fit on this Dask scheduler (tcp://host:8786) through joblib's dask "
                                      f"backend; default ${cluster.ADDRESS_VARIABLE}, else this machine")
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
            print(f"{args.config}: {workflow.validate_against_corpus(loaded)}")
        elif args.command == "ingest":
            workflow.execute(loaded, with_models=False, strict=args.strict)
        elif args.command == "sweep":
            with cluster.fits_on(cluster.scheduler_address(args.scheduler)):
                workflow.run_sweep(loaded)
        else:
            with cluster.fits_on(cluster.scheduler_address(args.scheduler)):
                workflow.execute(loaded, strict=args.strict)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _stop_workers() -> None:
    """Kills the worker processes of joblib's pool, which would otherwise outlive us for a while."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=False, kill_workers=True)


_ADVICE = {errno.ENOSPC: "free some disk space", errno.EROFS: "choose a writable run.output_dir",
           errno.EACCES: "check the permissions", errno.ENAMETOOLONG: "choose a shorter name"}


def environment_error(exc: OSError) -> str:
    """One line for a failure of the machine: what failed, on which file, and what to do."""
    where = f" {exc.filename}" if exc.filename else ""
    advice = _ADVICE.get(exc.errno, "check the file and the disk")
    return f"{exc.strerror or exc}{':' if where else ''}{where} ({advice})"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Our progress at INFO; libraries (gensim logs every pass at INFO) only at WARNING.
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr, force=True)
    log.setLevel(logging.WARNING if args.quiet else logging.INFO)
    # Signal handlers need the main thread (a notebook or test may call main() from another);
    # a signal the shell told us to ignore (a background job's SIGINT) stays ignored.
    interrupts.forget()
    previous_handlers = ({s: signal.signal(s, interrupts.interrupt) for s in (signal.SIGINT, signal.SIGTERM)
                          if signal.getsignal(s) is not signal.SIG_IGN} if _main_thread() else {})
    try:
        _dispatch(args)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {environment_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        _stop_workers()
        signum = getattr(exc, "signum", signal.SIGINT)
        print(f"error: interrupted by {signal.Signals(signum).name}; no half-written run is left behind", file=sys.stderr)
        return 128 + signum
    finally:
        for signum, handler in previous_handlers.items():
            signal.signal(signum, handler)
    return 0
