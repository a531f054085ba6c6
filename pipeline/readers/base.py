"""The reader record and the registry of input formats.

A reader turns one input file's bytes into the shared ``Page`` records (turns with their
paragraphs and the fate of every source line), or says in a ``SkippedFile`` why it cannot.
``corpus.format`` names the reader; nothing outside ``pipeline/readers/`` names a format.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.records import Page, SkippedFile
from pipeline.speakers import ProceduralRules, SpeakerDirectory

if TYPE_CHECKING:
    from pipeline.config import CorpusConfig


@dataclass(frozen=True)
class ReaderContext:
    """What every reader may use: the corpus section, the speaker directory, procedural rules."""

    corpus: CorpusConfig
    directory: SpeakerDirectory
    rules: ProceduralRules


@dataclass(frozen=True)
class Reader:
    """One input format. ``read(source_file, data, context)`` gives the file's pages (one per
    conference it holds) or a ``SkippedFile``. ``uses_columns``: the format maps its fields
    with ``corpus.columns``, whose ``extra`` columns are carried into the corpus tables."""

    name: str
    read: Callable[[str, bytes, ReaderContext], list[Page] | SkippedFile]
    uses_columns: bool = False


READERS: dict[str, Reader] = {}


def register(reader: Reader) -> Reader:
    """Adds a reader; its name becomes a valid ``corpus.format`` in every config loaded after."""
    READERS[reader.name] = reader
    return reader


def decode_source(source_file: str, data: bytes) -> str | SkippedFile:
    """The file's text (gunzipped when compressed), or why it cannot be read as UTF-8 text."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            return SkippedFile(source_file, f"damaged gzip file ({exc})")
    if not data.strip():
        return SkippedFile(source_file, "empty file")
    if b"\x00" in data[:8192]:
        return SkippedFile(source_file, "binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return SkippedFile(
            source_file, f"not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); re-save it as UTF-8"
        )
