"""Reading what the user points the config at: input files, the speaker registry, stopword files."""

from __future__ import annotations

import glob
from pathlib import Path

import yaml

from pipeline.config import LoadedConfig
from pipeline.errors import ConfigError, InputError
from pipeline.speakers import Person, registry_from_records


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
