"""The run directory: reading inputs, writing tables atomically, and the manifest.

With ``cli.py`` this is the only module that touches the file system. A run is written into a
hidden sibling directory and moved into place only when complete, so a failed or interrupted
run never leaves a half-written directory or damages the previous run of the same name.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from pipeline.config import LoadedConfig
from pipeline.errors import ConfigError, InputError
from pipeline.normalize import Normalized
from pipeline.turns import Person, registry_from_records

log = logging.getLogger("pipeline")

FLOAT_FORMAT = "%.6f"
PACKAGES = ("numpy", "scipy", "pandas", "scikit-learn", "gensim", "nltk", "simplemma",
            "matplotlib", "pydantic", "PyYAML", "joblib")


def display_path(path: Path, root: Path) -> str:
    """A path relative to the project root when inside it (stable across machines)."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def resolve_inputs(loaded: LoadedConfig) -> tuple[list[Path], list[str]]:
    """Input files in sorted order, and the globs that matched nothing.

    A literal path that does not exist is an error; a glob matching nothing is reported.
    """
    files: dict[Path, None] = {}
    unmatched: list[str] = []
    for pattern in loaded.config.corpus.inputs:
        absolute = loaded.resolve(pattern)
        if glob.has_magic(pattern):
            matches = sorted(Path(p) for p in glob.glob(str(absolute), recursive=True) if Path(p).is_file())
            if not matches:
                unmatched.append(pattern)
            files.update(dict.fromkeys(matches))
        elif absolute.is_file():
            files[absolute] = None
        else:
            raise InputError(f"corpus.inputs: file not found: {pattern} (looked in {absolute.parent})")
    return list(files), unmatched


def read_sources(files: list[Path], root: Path) -> list[tuple[str, bytes]]:
    return [(display_path(path, root), path.read_bytes()) for path in files]


def read_registry(loaded: LoadedConfig) -> dict[str, Person]:
    speakers = loaded.config.corpus.speakers
    if speakers is None:
        return {}
    path = loaded.resolve(speakers)
    if not path.is_file():
        raise ConfigError(f"corpus.speakers: speaker registry not found: {speakers}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        records = data["speakers"]
        return registry_from_records(records)
    except (yaml.YAMLError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"corpus.speakers: {speakers} must hold 'speakers:' entries with name and role ({type(exc).__name__}: {exc})"
        ) from None


def read_stopword_files(loaded: LoadedConfig) -> list[str]:
    words: list[str] = []
    for name in loaded.config.normalize.stopwords.files:
        path = loaded.resolve(name)
        if not path.is_file():
            raise ConfigError(f"normalize.stopwords.files: stopword file not found: {name}")
        words.extend(path.read_text(encoding="utf-8").splitlines())
    return words


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


def save_model(native: Any, backend: str, vocabulary: list[str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if backend.startswith("gensim"):
        native.save(str(folder / "model.gensim"))
    else:
        import joblib

        joblib.dump({"model": native, "vocabulary": vocabulary}, folder / "model.joblib")


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def write_json(data: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def write_text(text: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


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


def _peak_memory_mib(reset: bool = False) -> float | None:
    """The process's peak resident memory (Linux VmHWM); ``reset`` restarts the peak from now."""
    try:
        if reset:
            Path("/proc/self/clear_refs").write_text("5")
            return None
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


@dataclass
class StageTimer:
    """Wall-clock seconds and peak memory (MiB, where Linux reports it) per named stage."""

    seconds: dict[str, float] = field(default_factory=dict)
    peak_mib: dict[str, float | None] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        _peak_memory_mib(reset=True)
        start = time.perf_counter()
        log.info("%s ...", name)
        yield
        self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - start, 4)
        self.peak_mib[name] = _peak_memory_mib()
        log.info("%s done in %.2f s", name, self.seconds[name])


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _git_commit(root: Path) -> str | None:
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def manifest(
    loaded: LoadedConfig,
    sources: list[tuple[str, bytes]],
    timer: StageTimer,
    **sections: Any,
) -> dict[str, Any]:
    config = loaded.config
    return {
        "config_sha256": config.sha256(),
        "config_file": display_path(loaded.path, loaded.root),
        "overrides": list(loaded.overrides),
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "git_commit": _git_commit(loaded.root),
        "packages": package_versions(),
        "inputs": [{"file": name, "sha256": sha256_bytes(data), "bytes": len(data)} for name, data in sources],
        "seeds": {"root": config.run.seed},
        "stage_seconds": timer.seconds,
        "stage_peak_mib": timer.peak_mib,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **sections,
        "config": config.model_dump(mode="json"),
    }


def read_table(path: Path) -> pd.DataFrame:
    """A run's CSV: empty text stays "" (ids, outlets); a column of numbers with gaps gets NaN."""
    frame = pd.read_csv(path, keep_default_na=False, low_memory=False)
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object and (values != "").any():
            numbers = pd.to_numeric(values.replace("", np.nan), errors="coerce")
            if numbers.notna().sum() == (values != "").sum():
                frame[column] = numbers
    return frame


@dataclass
class ModelTables:
    """One fitted model's tables as DataFrames; ``fitted()`` loads the native model."""

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
        """The native model: gensim ``LdaModel`` or the scikit-learn estimator."""
        if (self.folder / "model.gensim").exists():
            from gensim.models import LdaModel

            return LdaModel.load(str(self.folder / "model.gensim"))
        import joblib

        return joblib.load(self.folder / "model.joblib")["model"]

    def topic_term(self) -> tuple[list[str], np.ndarray]:
        """The vocabulary and the k x V topic-term matrix (rows sum to 1) of the saved model."""
        model = self.fitted()
        if hasattr(model, "get_topics"):
            return [model.id2word[i] for i in range(len(model.id2word))], model.get_topics().astype(np.float64)
        import joblib

        vocabulary = joblib.load(self.folder / "model.joblib")["vocabulary"]
        return vocabulary, model.components_ / model.components_.sum(axis=1, keepdims=True)


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
    corpus = path / "corpus"
    models = {}
    for folder in sorted((path / "models").glob("*")) if (path / "models").is_dir() else []:
        emphasis_folder = path / "emphasis" / folder.name
        models[folder.name] = ModelTables(
            name=folder.name, folder=folder,
            metrics=json.loads((folder / "metrics.json").read_text(encoding="utf-8")),
            topic_terms=read_table(folder / "topic_terms.csv"),
            unit_topics=read_table(folder / "unit_topics.csv"),
            answer_topics=read_table(folder / "answer_topics.csv"),
            representative_passages=read_table(folder / "representative_passages.csv"),
            topic_diagnostics=read_table(folder / "topic_diagnostics.csv"),
            emphasis={p.stem: read_table(p) for p in sorted(emphasis_folder.glob("*.csv"))},
        )
    return Run(
        path=path,
        config=yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8")),
        manifest=json.loads((path / "manifest.json").read_text(encoding="utf-8")),
        conferences=read_table(corpus / "conferences.csv"),
        turns=read_table(corpus / "turns.csv"),
        paragraphs=read_table(corpus / "paragraphs.csv"),
        ingest_report=json.loads((corpus / "ingest_report.json").read_text(encoding="utf-8")),
        models=models,
        alignment=read_table(path / "alignment.csv") if (path / "alignment.csv").is_file() else None,
    )
