"""The run directory: the only module that writes files (tables, figures, models, the token
cache), and ``load_run``, which reads a finished run back with its declared table schemas.

A run is written into a hidden sibling directory and moved into place only when complete, so
a failed or interrupted run never leaves a half-written directory or damages the previous run
of the same name.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from pipeline import schemas
from pipeline.config import LoadedConfig
from pipeline.errors import InputError
from pipeline.models import BACKENDS, TopicModelResult
from pipeline.normalize import Normalized
from pipeline.schemas import Schema, SchemaError

log = logging.getLogger("pipeline")

FLOAT_FORMAT = "%.6f"


def write_table(frame: pd.DataFrame, schema: Schema, path: Path) -> None:
    """A table as CSV, checked against its schema first; floats at a fixed precision."""
    schema.check(frame, path.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def write_json(data: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def write_text(text: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def append_lines(lines: Iterator[str], path: Path) -> None:
    """Appends each line as it comes, flushed at once (a stream that an interrupt may cut)."""
    with path.open("a", encoding="utf-8") as out:
        for line in lines:
            out.write(line)
            out.flush()


@contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """Yields an empty hidden sibling of ``target``; on success it replaces ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    previous = target.parent / f".{target.name}.previous-{os.getpid()}"
    if target.exists():
        target.rename(previous)
    staging.rename(target)
    shutil.rmtree(previous, ignore_errors=True)


def copy_tree(source: Path, into: Path) -> None:
    """Copies a run directory's files into a staging directory (to re-render a copy)."""
    shutil.copytree(source, into, dirs_exist_ok=True)


def write_sweep(folder: Path, summary: pd.DataFrame, suggestion: dict[str, Any], figure, dpi: int) -> None:
    """A sweep's summary table, its suggested k with the rule, and the model-selection figure."""
    write_table(summary, schemas.SWEEP_SUMMARY, folder / "summary.csv")
    write_json(suggestion, folder / "suggestion.json")
    save_figure(figure, folder / "model_selection", dpi)


def _cache_file(loaded: LoadedConfig, key: str) -> Path:
    return loaded.resolve(loaded.config.run.output_dir) / ".cache" / "normalize" / f"{key}.json.gz"


def load_normalized(loaded: LoadedConfig, key: str) -> Normalized | None:
    path = _cache_file(loaded, key)
    try:
        data = json.loads(gzip.decompress(path.read_bytes()))
    except (OSError, ValueError, EOFError):
        return None
    return Normalized(data["tokens"], data["report"])


def save_normalized(loaded: LoadedConfig, key: str, normalized: Normalized) -> None:
    path = _cache_file(loaded, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".partial-{os.getpid()}")
    payload = {"tokens": normalized.tokens, "report": normalized.report}
    partial.write_bytes(gzip.compress(json.dumps(payload).encode("utf-8"), mtime=0))
    partial.replace(path)


def write_corpus(conferences: pd.DataFrame, turns: pd.DataFrame, paragraphs: pd.DataFrame,
                 report: dict[str, Any], into: Path) -> None:
    write_table(conferences, schemas.CONFERENCES, into / "corpus" / "conferences.csv")
    write_table(turns, schemas.TURNS, into / "corpus" / "turns.csv")
    write_table(paragraphs, schemas.PARAGRAPHS, into / "corpus" / "paragraphs.csv")
    write_json(report, into / "corpus" / "ingest_report.json")


def write_model(into: Path, result: TopicModelResult, tables: dict[str, pd.DataFrame], metrics: dict[str, Any],
                emphasis: dict[str, pd.DataFrame]) -> None:
    """One model's tables, metrics, topic-term matrix and vocabulary, native model, emphasis tables.

    ``topic_term.npy`` and ``vocabulary.txt`` are what re-rendering needs, so it never loads
    the native model.
    """
    folder = into / "models" / result.name
    for name, frame in tables.items():
        write_table(frame, schemas.MODEL_TABLES[name], folder / f"{name}.csv")
    write_json(metrics, folder / "metrics.json")
    np.save(folder / "topic_term.npy", result.topic_term, allow_pickle=False)
    write_text("\n".join(result.vocabulary) + "\n", folder / "vocabulary.txt")
    BACKENDS[result.backend].save(result.native, folder)
    for name, frame in emphasis.items():
        write_table(frame, schemas.emphasis_schema(name), into / "emphasis" / result.name / f"{name}.csv")


def save_figure(fig, stem: Path, dpi: int) -> None:
    """PNG at ``dpi`` and PDF, with no timestamps so reruns give the same files."""
    import matplotlib.pyplot as plt

    # "tight" also keeps left-aligned panel titles that outgrow their axes inside the image.
    fig.savefig(f"{stem}.png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(f"{stem}.pdf", bbox_inches="tight",
                metadata={"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None})
    plt.close(fig)


def _draw(stem: Path, dpi: int, function: Callable, arguments: Sequence[Any]) -> None:
    save_figure(function(*arguments), stem, dpi)


def draw_figures(figures: Sequence[Any], folder: Path, dpi: int) -> dict[str, bytes]:
    """Draws each figure spec (``stem``, ``function``, ``arguments``) to PNG and PDF, side by
    side in worker processes (matplotlib draws on one core); returns the PNG bytes by stem."""
    from joblib import Parallel, delayed

    folder.mkdir(parents=True, exist_ok=True)
    Parallel(n_jobs=-1)(delayed(_draw)(folder / f.stem, dpi, f.function, f.arguments) for f in figures)
    return {f.stem: (folder / f"{f.stem}.png").read_bytes() for f in figures}


@dataclass
class ModelTables:
    """One fitted model's saved tables as DataFrames; ``fitted()`` loads the native model."""

    name: str
    folder: Path
    metrics: dict[str, Any]
    topic_terms: pd.DataFrame
    unit_topics: pd.DataFrame
    answer_topics: pd.DataFrame
    representative_passages: pd.DataFrame
    topic_diagnostics: pd.DataFrame
    emphasis: dict[str, pd.DataFrame]

    @property
    def k(self) -> int:
        return int(self.metrics["k"])

    def fitted(self) -> Any:
        """The native model, as its backend saved it (e.g. gensim ``LdaModel``, an sklearn estimator)."""
        return BACKENDS[self.metrics["backend"]].load(self.folder)

    def topic_term(self) -> tuple[list[str], np.ndarray]:
        """The vocabulary and the k x V topic-term matrix (rows sum to 1)."""
        vocabulary = (self.folder / "vocabulary.txt").read_text(encoding="utf-8").splitlines()
        return vocabulary, np.load(self.folder / "topic_term.npy", allow_pickle=False)


@dataclass
class Run:
    """A finished run directory, as ``pipeline.load_run`` returns it."""

    path: Path
    config: dict[str, Any]
    manifest: dict[str, Any]
    conferences: pd.DataFrame
    turns: pd.DataFrame
    paragraphs: pd.DataFrame
    ingest_report: dict[str, Any]
    models: dict[str, ModelTables]
    alignment: pd.DataFrame | None


def _read_json(path: Path, root: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SchemaError(f"{path.relative_to(root)}: cannot be read ({' '.join(str(exc).split())})") from None


def _table(schema: Schema, path: Path, root: Path) -> pd.DataFrame:
    where = path.relative_to(root).as_posix()
    if not path.is_file():
        raise SchemaError(f"{root}: {where} is missing")
    return schema.read_csv(path, where)


def load_tables(path: Path, manifest: dict[str, Any]) -> Run:
    """A run directory's tables, checked against their schemas (``manifest`` given by the caller)."""
    corpus = path / "corpus"
    models = {}
    for folder in sorted((path / "models").glob("*")) if (path / "models").is_dir() else []:
        emphasis_folder = path / "emphasis" / folder.name
        models[folder.name] = ModelTables(
            name=folder.name, folder=folder, metrics=_read_json(folder / "metrics.json", path),
            **{name: _table(schema, folder / f"{name}.csv", path) for name, schema in schemas.MODEL_TABLES.items()},
            emphasis={p.stem: _table(schemas.emphasis_schema(p.stem), p, path)
                      for p in sorted(emphasis_folder.glob("*.csv"))},
        )
    config = path / "config.yaml"
    if not config.is_file():
        raise SchemaError(f"{path}: config.yaml is missing")
    return Run(
        path=path,
        config=yaml.safe_load(config.read_text(encoding="utf-8")),
        manifest=manifest,
        conferences=_table(schemas.CONFERENCES, corpus / "conferences.csv", path),
        turns=_table(schemas.TURNS, corpus / "turns.csv", path),
        paragraphs=_table(schemas.PARAGRAPHS, corpus / "paragraphs.csv", path),
        ingest_report=_read_json(corpus / "ingest_report.json", path),
        models=models,
        alignment=_table(schemas.ALIGNMENT, path / "alignment.csv", path)
        if (path / "alignment.csv").is_file() else None,
    )


def load_run(path: str | Path) -> Run:
    """Loads a run directory written by ``python -m pipeline run``.

    Example::

        >>> run = load_run("outputs/default")            # doctest: +SKIP
        >>> run.models["lda"].answer_topics.head()        # doctest: +SKIP
        >>> run.models["nmf"].emphasis["by_speaker"]      # doctest: +SKIP
        >>> run.models["lda"].topic_diagnostics           # doctest: +SKIP
        >>> run.manifest["config_sha256"]                 # doctest: +SKIP
    """
    path = Path(path)
    if not (path / "manifest.json").is_file():
        raise InputError(f"{path} is not a run directory (no manifest.json); run `python -m pipeline run CONFIG` first")
    return load_tables(path, _read_json(path / "manifest.json", path))
