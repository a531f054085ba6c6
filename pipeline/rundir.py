"""The run directory: the only module that writes files (tables, figures, models, the token
cache), and ``load_run``, which reads a finished run back with its declared table schemas.

A run is written into a hidden sibling directory and moved into place only when complete, so
a failed or interrupted run never leaves a half-written directory or damages the previous run
of the same name.
"""

from __future__ import annotations

import glob
import gzip
import json
import logging
import os
import pickle
import shutil
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import cluster, interrupts, schemas
from pipeline.config import LoadedConfig, read_yaml, validate
from pipeline.errors import InputError
from pipeline.models import BACKENDS, TopicModelResult, mixtures_under
from pipeline.normalize import Normalized, make_lemmatizer, normalize_as_learned
from pipeline.paper_tables import paper_latex
from pipeline.progress import shown
from pipeline.schemas import Schema, SchemaError
from pipeline.topic_tables import markdown_table, rounded
from pipeline.vectorize import Matrices, counted

log = logging.getLogger("pipeline")

FLOAT_FORMAT = "%.6f"


def write_table(frame: pd.DataFrame, schema: Schema, path: Path, *, copies: bool = False) -> None:
    """A table as CSV, checked against its schema first; floats at a fixed precision. With
    ``copies``, a result table for papers: also LaTeX (booktabs) and Markdown beside it."""
    schema.check(frame, path.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    if copies:
        path.with_suffix(".tex").write_text(paper_latex(frame, path.stem, schema.name, path.parent.name),
                                            encoding="utf-8")
        path.with_suffix(".md").write_text(markdown_table(rounded(frame)), encoding="utf-8")


def write_json(data: Any, path: Path, *, indent: int | None = 2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=indent, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def write_text(text: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def append_lines(lines: Iterator[str], path: Path) -> None:
    """Appends each line as it comes, flushed at once (a stream that an interrupt may cut)."""
    with path.open("a", encoding="utf-8") as out:
        for line in lines:
            out.write(line)
            out.flush()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        pass
    return True


def _leftovers(target: Path, kind: str) -> list[tuple[Path, int]]:
    """Hidden siblings ``.NAME.<kind>-PID`` of ``target`` left by runs whose process is gone."""
    found = []
    for path in target.parent.glob(f".{glob.escape(target.name)}.{kind}-*"):
        pid = path.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            found.append((path, int(pid)))
    return sorted(found)


def recover(target: Path) -> None:
    """Repairs what a killed run of this name left: restores the previous run if the process
    died between the two renames of the swap, and removes its staging directories."""
    for previous, _ in _leftovers(target, "previous"):
        if target.exists():
            shutil.rmtree(previous, ignore_errors=True)
        else:
            previous.rename(target)
            log.warning("restored %s: a run of this name was killed while replacing it", target.name)
    for staging, pid in _leftovers(target, "partial"):
        shutil.rmtree(staging, ignore_errors=True)
        log.info("removed %s, left by an interrupted run (process %d)", staging.name, pid)


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM arriving in the block are delivered when it ends.

    Their handlers are swapped for one that only records them (blocking the signals would
    not do: a process-directed signal goes to any thread that does not block it, and worker
    pools run threads). Outside the main thread handlers cannot be set, and nothing is held.
    """
    received: list[int] = []
    try:
        previous = {s: signal.signal(s, lambda signum, frame: received.append(signum))
                    for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(received):
            signal.raise_signal(signum)


@contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """Yields an empty hidden sibling of ``target``; on success it replaces ``target``.

    On any exception (an interrupt included) the staging directory is removed and ``target``
    is left as it was. The swap's two renames run with SIGINT and SIGTERM held; a SIGKILL
    between them is repaired by ``recover``, which every command that writes a run calls first.
    """
    if target.exists() and not target.is_dir():
        raise InputError(f"{target} exists and is not a directory; remove it or choose another run.name")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
        interrupts.stop_if_interrupted()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    previous = target.parent / f".{target.name}.previous-{os.getpid()}"
    with _signals_held():
        if target.exists():
            target.rename(previous)
        staging.rename(target)
        shutil.rmtree(previous, ignore_errors=True)


def check_writable(output_dir: Path) -> None:
    """Fails early, before any work, if runs cannot be written under ``output_dir``."""
    if output_dir.exists() and not output_dir.is_dir():
        raise InputError(f"run.output_dir: {output_dir} is a file, not a folder; choose another run.output_dir")
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        probe = output_dir / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"run.output_dir: cannot write in {output_dir} ({exc.strerror or exc}); "
                         "choose a writable run.output_dir") from None


def copy_tree(source: Path, into: Path) -> None:
    """Copies a run directory's files into a staging directory (to re-render a copy)."""
    shutil.copytree(source, into, dirs_exist_ok=True)


def write_sweep(folder: Path, summary: pd.DataFrame, suggestion: dict[str, Any], figure, dpi: int,
                pdf: bool) -> None:
    """A sweep's summary table, its suggested k with the rule, and the model-selection figure."""
    write_table(summary, schemas.SWEEP_SUMMARY, folder / "summary.csv")
    write_json(suggestion, folder / "suggestion.json")
    save_figure(figure, folder / "model_selection", dpi, pdf)


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
    # Not indented: it lists every input line, and json indents only in Python (1.4 s for the
    # 327,000 lines of 500 White House briefings, against 0.4 s).
    write_json(report, into / "corpus" / "ingest_report.json", indent=None)


def write_design(cells: pd.DataFrame, contrasts: pd.DataFrame, summary: dict[str, Any], into: Path) -> None:
    """The comparison design: answers per speaker, year and conference, each contrast's support,
    and the joint model's rank and degrees of freedom."""
    write_table(cells, schemas.DESIGN_CELLS, into / "design" / "cells.csv", copies=True)
    write_table(contrasts, schemas.DESIGN_CONTRASTS, into / "design" / "contrasts.csv", copies=True)
    write_json(summary, into / "design" / "summary.json")


def write_distinctive(tables: dict[str, pd.DataFrame], chance: pd.DataFrame, top_n: int, into: Path) -> None:
    """``distinctive/<contrast>.csv`` with every word of every scope, and beside it the ``top_n``
    words of each side overall as LaTeX and Markdown tables for papers; ``distinctive_chance.csv``
    with each contrast's count beyond |z| = 3 against its permutation null."""
    if tables:
        write_table(chance, schemas.DISTINCTIVE_CHANCE, into / "distinctive_chance.csv")
    for name, frame in tables.items():
        write_table(frame, schemas.DISTINCTIVE, into / "distinctive" / f"{name}.csv")
        overall = frame[frame.scope == "overall"]
        top = pd.concat([overall.nlargest(top_n, "z"), overall.nsmallest(top_n, "z")])
        top = top.assign(side=np.where(top.z > 0, top.group_a, top.group_b))[
            ["side", "term", "count_a", "count_b", "log_odds", "z"]]
        write_text(paper_latex(top, "distinctive", schemas.DISTINCTIVE.name, name, precision=2),
                   into / "distinctive" / f"{name}.tex")
        write_text(markdown_table(rounded(top, precision=2)), into / "distinctive" / f"{name}.md")


def write_model(into: Path, result: TopicModelResult, matrices: Matrices, tables: dict[str, pd.DataFrame],
                metrics: dict[str, Any], emphasis: dict[str, pd.DataFrame],
                responsiveness: dict[str, pd.DataFrame]) -> None:
    """One model's tables, metrics, topic-term matrix, vocabulary with counts and idf, native
    model, emphasis and responsiveness tables.

    ``topic_term.npy`` and ``vocabulary.csv`` are what re-rendering needs, so it never loads
    the native model; ``idf.npy`` is what ``ModelTables.transform`` weights new texts' counts by.
    """
    folder = into / "models" / result.name
    for name, frame in tables.items():
        write_table(frame, {**schemas.MODEL_TABLES, **schemas.BACKEND_TABLES}[name], folder / f"{name}.csv")
    write_json(metrics, folder / "metrics.json")
    np.save(folder / "topic_term.npy", result.topic_term, allow_pickle=False)
    np.save(folder / "idf.npy", matrices.idf, allow_pickle=False)
    write_table(pd.DataFrame({"term": result.vocabulary, "count": matrices.term_counts.astype(int)}),
                schemas.VOCABULARY, folder / "vocabulary.csv")
    BACKENDS[result.backend].save(result.native, folder)
    for name, frame in emphasis.items():
        write_table(frame, schemas.emphasis_schema(name), into / "emphasis" / result.name / f"{name}.csv")
    for name, frame in responsiveness.items():
        write_table(frame, schemas.RESPONSIVENESS_TABLES[name], into / "responsiveness" / result.name / f"{name}.csv",
                    copies=name == "summary")


def save_figure(fig, stem: Path, dpi: int, pdf: bool = False) -> None:
    """PNG at ``dpi`` and (``pdf``) PDF, with no timestamps so reruns give the same files.

    The constrained layout and the bounding box are computed once and then fixed: left to
    itself (``bbox_inches="tight"``), matplotlib lays the figure out and walks every artist
    three times per file it saves. The box, as "tight", keeps left-aligned panel titles that
    outgrow the figure's right edge inside the image; the layout does not widen for them.
    """
    import matplotlib.pyplot as plt

    fig.set_dpi(dpi)
    if fig.get_layout_engine() is not None:
        fig.get_layout_engine().execute(fig)
        fig.set_layout_engine(None)
    box = fig.get_tightbbox().padded(plt.rcParams["savefig.pad_inches"])
    # zlib level 3 rather than Pillow's 6: about half the encoding time, files 6% larger.
    fig.savefig(f"{stem}.png", dpi=dpi, bbox_inches=box, metadata={"Software": None},
                pil_kwargs={"compress_level": 3})
    if pdf:
        fig.savefig(f"{stem}.pdf", bbox_inches=box,
                    metadata={"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None})
    plt.close(fig)


def _draw(stem: Path, dpi: int, pdf: bool, pickled_spec: bytes) -> None:
    save_figure(pickle.loads(pickled_spec).draw(), stem, dpi, pdf)


@contextmanager
def figures_drawing(figures: Sequence[Any], folder: Path, dpi: int,
                    pdf: bool) -> Iterator[Callable[[], dict[str, bytes]]]:
    """Starts drawing each figure spec (its ``stem`` and ``draw()``) to PNG and (``pdf``) PDF,
    side by side in worker processes (matplotlib draws on one core), while the block goes on.
    The block calls the function it is given to wait for the figures and get the PNG bytes by
    stem; if the block fails, the figures not yet drawn are cancelled.

    Each spec is pickled here, before the block starts: joblib pickles a task in a background
    thread when a worker is free, so a spec passed as is would be read whenever that happens,
    while the block goes on with the same tables."""
    from joblib import Parallel, delayed

    if figures:
        folder.mkdir(parents=True, exist_ok=True)
    pickled = [(f.stem, pickle.dumps(f, protocol=pickle.HIGHEST_PROTOCOL)) for f in figures]
    # Always local (loky), also when fits go to a Dask cluster: the figures are written here.
    drawn = Parallel(n_jobs=-1, return_as="generator", **cluster.local_workers())(
        delayed(_draw)(folder / stem, dpi, pdf, spec) for stem, spec in pickled)

    def finished() -> dict[str, bytes]:
        for _ in shown(drawn, len(figures), "figures"):
            pass
        return {f.stem: (folder / f"{f.stem}.png").read_bytes() for f in figures}

    with cluster.finished_or_cancelled(drawn, "drawing the figures"):
        yield finished


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
    responsiveness: dict[str, pd.DataFrame]  # "answers" and "summary" (empty without questions)
    backend_tables: dict[str, pd.DataFrame]  # the backend's own (schemas.BACKEND_TABLES), e.g. prior_coefficients
    run_config: dict[str, Any] = field(repr=False)  # the run's config.yaml, as written
    learned_phrases: list[dict[str, Any]] = field(repr=False)  # the run's, from its manifest

    @property
    def k(self) -> int:
        return int(self.metrics["k"])

    def fitted(self) -> Any:
        """The native model as its backend's fit gives it: an sklearn estimator, a gensim
        ``LdaModel``, tomotopy's saved bytes with its inference sweeps."""
        return BACKENDS[self.metrics["backend"]].load(self.folder)

    def transform(self, texts: Iterable[str], covariates: pd.DataFrame | None = None) -> pd.DataFrame:
        """Topic mixtures of any texts under this model, its topics held fixed (stm's
        ``fitNewDocuments``, BERTopic's ``transform``).

        Each text is normalised with the run's own settings, learned phrases and vocabulary,
        then inferred as the run infers unseen units: LDA by its inference (a Gibbs or
        variational posterior, so within sampling noise of the run's own mixtures), NMF by W
        with H fixed (the run's own mixtures exactly). Columns ``n_tokens`` (the text's tokens
        in the vocabulary) and ``topic_0`` ... ``topic_{k-1}``; a text with no known word has
        the prior's mean under LDA and NaN under NMF.

        ``covariates`` (one row per text: ``speaker``, ``year``, ...) matter only to a model whose
        prior depends on them (``metrics["prior_covariates"]``): each text is inferred under its
        levels' prior; without them, under the intercept's, as the run infers questions.
        """
        matrices = self.matrices_of(texts)
        if covariates is not None:
            missing = sorted(set(self.metrics.get("prior_covariates", [])) - set(covariates.columns))
            if missing:
                raise InputError(f"model {self.name}: covariates lack {', '.join(missing)}, which its prior depends on")
            matrices = matrices.with_covariates(covariates)
        backend = BACKENDS[self.metrics["backend"]]
        frame = pd.DataFrame(mixtures_under(backend, self.fitted(), matrices, self.metrics["params"]),
                             columns=schemas.topic_columns(self.k))
        frame.insert(0, "n_tokens", matrices.unit_lengths.astype(int))
        return frame

    def matrices_of(self, texts: Iterable[str]) -> Matrices:
        """Texts' counts and tf-idf over this model's vocabulary, as ``transform`` sees them."""
        config = validate(self.run_config).normalize
        vocabulary = self.vocabulary.term.tolist()
        # First: a run from before transform existed has no idf.npy, and says so in one line.
        idf = self._saved_array("idf.npy", (len(vocabulary),), "vocabulary.csv")
        tokens = normalize_as_learned(texts, config, make_lemmatizer(config.lemmatizer), self.learned_phrases,
                                      set(vocabulary))
        return counted(vocabulary, idf, tokens)

    def _saved_array(self, name: str, shape: tuple[int, ...], expected_from: str) -> np.ndarray:
        """``name`` (a ``.npy`` of this model's folder), checked to have ``shape``."""
        try:
            array = np.load(self.folder / name, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise SchemaError(f"model {self.name}: {name} is missing or damaged ({' '.join(str(exc).split())}); "
                              "rerun the config to rebuild the run") from None
        if array.shape != shape:
            raise SchemaError(f"model {self.name}: {name} is {array.shape}, expected {shape} from {expected_from}")
        return array

    @cached_property
    def vocabulary(self) -> pd.DataFrame:
        """The model's terms (in the matrix's column order) with their counts in the corpus."""
        return _table(schemas.VOCABULARY, self.folder / "vocabulary.csv", self.folder.parent.parent)

    def topic_term(self) -> tuple[list[str], np.ndarray]:
        """The vocabulary and the k x V topic-term matrix (rows sum to 1)."""
        vocabulary = self.vocabulary.term.tolist()
        return vocabulary, self._saved_array("topic_term.npy", (self.k, len(vocabulary)),
                                             "metrics.json and vocabulary.csv")


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
    design: dict[str, Any]  # "cells" and "contrasts" tables, "summary" of the joint model
    distinctive: dict[str, pd.DataFrame]  # contrast -> Fightin' Words table
    distinctive_chance: pd.DataFrame | None  # each contrast's count beyond |z| = 3 and its permutation null

    def model(self, name: str) -> ModelTables:
        """One model's tables and ``transform``; ``InputError`` naming the run's models if it has no such model."""
        if name not in self.models:
            raise InputError(f"{self.path}: no model {name!r} in this run (it has {', '.join(self.models) or 'none'})")
        return self.models[name]


def _read_json(path: Path, root: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SchemaError(f"{root}: {path.relative_to(root).as_posix()} cannot be read "
                          f"({' '.join(str(exc).split())}); rerun the config to rebuild the run") from None


def read_manifest(path: Path) -> dict[str, Any]:
    """A run directory's manifest, or ``SchemaError`` if it is damaged."""
    manifest = _read_json(path / "manifest.json", path)
    if not isinstance(manifest, dict):
        raise SchemaError(f"{path}: manifest.json does not hold a manifest; rerun the config to rebuild the run")
    return manifest


def _table(schema: Schema, path: Path, root: Path) -> pd.DataFrame:
    where = path.relative_to(root).as_posix()
    if not path.is_file():
        raise SchemaError(f"{root}: {where} is missing; rerun the config to rebuild the run")
    return schema.read_csv(path, where)


def load_tables(path: Path, manifest: dict[str, Any]) -> Run:
    """A run directory's tables, checked against their schemas (``manifest`` given by the caller)."""
    corpus = path / "corpus"
    config = path / "config.yaml"
    if not config.is_file():
        raise SchemaError(f"{path}: config.yaml is missing")
    run_config = read_yaml(config.read_bytes(), f"{path}/config.yaml")
    learned_phrases = (manifest.get("normalization") or {}).get("learned_phrases", [])
    models = {}
    for folder in sorted((path / "models").glob("*")) if (path / "models").is_dir() else []:
        emphasis_folder = path / "emphasis" / folder.name
        metrics = _read_json(folder / "metrics.json", path)
        if not isinstance(metrics, dict) or {"k", "backend", "seed"} - set(metrics):
            raise SchemaError(f"{path}: models/{folder.name}/metrics.json lacks k, backend or seed; "
                              "rerun the config to rebuild the run")
        models[folder.name] = ModelTables(
            name=folder.name, folder=folder, metrics=metrics,
            **{name: _table(schema, folder / f"{name}.csv", path) for name, schema in schemas.MODEL_TABLES.items()},
            # Every model's emphasis has contrasts.csv (empty without contrasts): a folder without
            # it was deleted, not left out.
            emphasis={p.stem: _table(schemas.emphasis_schema(p.stem), p, path)
                      for p in sorted({*emphasis_folder.glob("*.csv"), emphasis_folder / "contrasts.csv"})},
            responsiveness={p.stem: _table(schemas.RESPONSIVENESS_TABLES[p.stem], p, path)
                            for p in sorted((path / "responsiveness" / folder.name).glob("*.csv"))},
            backend_tables={name: _table(schema, folder / f"{name}.csv", path)
                            for name, schema in schemas.BACKEND_TABLES.items() if (folder / f"{name}.csv").is_file()},
            run_config=run_config, learned_phrases=learned_phrases,
        )
    return Run(
        path=path,
        config=run_config,
        manifest=manifest,
        conferences=_table(schemas.CONFERENCES, corpus / "conferences.csv", path),
        turns=_table(schemas.TURNS, corpus / "turns.csv", path),
        paragraphs=_table(schemas.PARAGRAPHS, corpus / "paragraphs.csv", path),
        ingest_report=_read_json(corpus / "ingest_report.json", path),
        models=models,
        alignment=_table(schemas.ALIGNMENT, path / "alignment.csv", path)
        if (path / "alignment.csv").is_file() else None,
        distinctive={p.stem: _table(schemas.DISTINCTIVE, p, path) for p in sorted((path / "distinctive").glob("*.csv"))},
        distinctive_chance=_table(schemas.DISTINCTIVE_CHANCE, path / "distinctive_chance.csv", path)
        if (path / "distinctive_chance.csv").is_file() else None,
        design={**{name: _table(schema, path / "design" / f"{name}.csv", path)
                   for name, schema in schemas.DESIGN_TABLES.items()},
                "summary": _read_json(path / "design" / "summary.json", path)},
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
    return load_tables(path, read_manifest(path))
