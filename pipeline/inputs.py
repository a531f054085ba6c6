"""Reading what the user points the config at: input files, the speaker registry, stopword files."""

from __future__ import annotations

import glob
import logging
import re
from pathlib import Path

from pipeline.config import LoadedConfig, read_yaml, utf8_text
from pipeline.errors import ConfigError, InputError
from pipeline.speakers import Person, registry_from_records

log = logging.getLogger("pipeline")


def display_path(path: Path, root: Path) -> str:
    """A path relative to the project root when inside it (stable across machines)."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def resolve_inputs(loaded: LoadedConfig) -> tuple[list[Path], list[str]]:
    """Input files in the order of the patterns (each glob's matches sorted), each once, and the
    globs that matched nothing.

    A pattern naming an existing file is that file, even if its name holds glob characters
    (``t[1].txt``); otherwise a pattern with glob characters is a glob (``**`` recursive). Files
    reached twice (two patterns, symlinks, a symlink loop under ``**``) are read once, by their
    real path. A literal path that does not exist is an error; a glob matching nothing is
    reported.
    """
    files: dict[Path, Path] = {}
    unmatched: list[str] = []
    for pattern in loaded.config.corpus.inputs:
        absolute = loaded.resolve(pattern)
        if absolute.is_file():
            matches = [absolute]
        elif glob.has_magic(pattern):
            matches = sorted(Path(p) for p in glob.glob(str(absolute), recursive=True) if Path(p).is_file())
            if not matches:
                unmatched.append(pattern)
        elif absolute.is_dir():
            raise InputError(f"corpus.inputs: {pattern} is a folder; name its files with a glob such as "
                             f"{pattern.rstrip('/')}/*.txt")
        else:
            raise InputError(f"corpus.inputs: file not found: {pattern} (looked in {absolute.parent})")
        for path in matches:
            files.setdefault(path.resolve(), path)
    return list(files.values()), unmatched


def read_sources(files: list[Path], root: Path) -> list[tuple[str, bytes]]:
    """Each file's name (relative to the project) and bytes; a failed read names the file."""
    sources = []
    for path in files:
        try:
            sources.append((display_path(path, root), path.read_bytes()))
        except OSError as exc:
            raise InputError(f"corpus.inputs: cannot read {display_path(path, root)}: "
                             f"{exc.strerror or exc} (check the file and the disk)") from None
    return sources


# The project this package was installed from: its configs/ hold the registry and stopword
# lists that a config copied elsewhere still names.
PROJECT_FOLDER = Path(__file__).resolve().parents[1]


def supporting_file(loaded: LoadedConfig, name: str, key: str) -> Path | None:
    """A file the config names (a registry, a stopword list) beside the config's project, else
    the installed project's own copy (said in the log), else None."""
    path = loaded.resolve(name)
    if path.is_file() or Path(name).is_absolute():
        return path if path.is_file() else None
    own = PROJECT_FOLDER / name
    if own.is_file():
        log.info("%s: %s is not in %s; using the pipeline's own %s", key, name, loaded.root, own)
        return own
    return None


def read_registry(loaded: LoadedConfig) -> dict[str, Person]:
    speakers = loaded.config.corpus.speakers
    if speakers is None:
        return {}
    path = supporting_file(loaded, speakers, "corpus.speakers")
    if path is None:
        raise ConfigError(f"corpus.speakers: speaker registry not found: {speakers}")
    data = read_yaml(path.read_bytes(), f"corpus.speakers: {speakers}") or {}
    try:
        return registry_from_records(data["speakers"])
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(
            f"corpus.speakers: {speakers} must hold 'speakers:' entries with name and role ({type(exc).__name__}: {exc})"
        ) from None


def read_stopword_files(loaded: LoadedConfig) -> list[str]:
    words: list[str] = []
    for name in loaded.config.normalize.stopwords.files:
        path = supporting_file(loaded, name, "normalize.stopwords.files")
        if path is None:
            raise ConfigError(f"normalize.stopwords.files: stopword file not found: {name}")
        words.extend(utf8_text(path.read_bytes(), f"normalize.stopwords.files: {name}").splitlines())
    return words


def read_reference_texts(loaded: LoadedConfig) -> list[str]:
    """The paragraphs of ``evaluate.coherence_reference``'s files (blank lines separate them)."""
    paragraphs: list[str] = []
    for pattern in loaded.config.evaluate.coherence_reference:
        matches = sorted(glob.glob(str(loaded.resolve(pattern)), recursive=True))
        if not matches:
            raise ConfigError(f"evaluate.coherence_reference: {pattern} matches no file")
        for name in matches:
            text = utf8_text(Path(name).read_bytes(), f"evaluate.coherence_reference: {name}")
            paragraphs += [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    return paragraphs
