"""The reader record and the registry of input formats.

A reader turns one input file's bytes into the shared ``Page`` records (turns with their
paragraphs and the fate of every source line), or says in a ``SkippedFile`` why it cannot.
``corpus.format`` names the reader; nothing outside ``pipeline/readers/`` names a format.
"""

from __future__ import annotations

import codecs
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.progress import Progress, silent
from pipeline.records import Page, SkippedFile
from pipeline.speakers import ProceduralRules, SpeakerDirectory

if TYPE_CHECKING:
    from pipeline.config import CorpusConfig


@dataclass(frozen=True)
class ReaderContext:
    """What every reader may use: the corpus section, the speaker directory, procedural rules,
    and where a reader of long files reports its progress."""

    corpus: CorpusConfig
    directory: SpeakerDirectory
    rules: ProceduralRules
    progress: Progress = silent


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


# A gzip input may expand to at most this many bytes, and at most this many times its size
# (text compresses 3 to 10 times; a "gzip bomb" of zeros a thousand times).
MAX_EXPANDED_BYTES = 4 * 1024**3
MAX_EXPANSION_RATIO = 100


def gunzip(data: bytes) -> bytes:
    """Decompresses in chunks and stops as soon as the output passes the limits above."""
    limit = min(MAX_EXPANDED_BYTES, max(len(data), 1024**2) * MAX_EXPANSION_RATIO)
    decompressor = zlib.decompressobj(wbits=31)
    parts, size, pending = [], 0, data
    while pending and not decompressor.eof:
        chunk = decompressor.decompress(pending, 1024**2)
        size += len(chunk)
        if size > limit:
            raise ValueError(f"expands to more than {limit // 1024**2} MiB ({MAX_EXPANSION_RATIO} times its size); "
                             "decompress it yourself if it is genuine")
        parts.append(chunk)
        pending = decompressor.unconsumed_tail
    if not decompressor.eof:
        raise ValueError("the compressed stream ends early (truncated file)")
    return b"".join(parts)


def decode_source(source_file: str, data: bytes) -> str | SkippedFile:
    """The file's text (gunzipped when compressed), or why it cannot be read as text.

    UTF-8 (with or without a byte-order mark) and UTF-16 with a byte-order mark (as Windows
    editors save "Unicode" text) are read.
    """
    if data[:2] == b"\x1f\x8b":
        try:
            data = gunzip(data)
        except (zlib.error, ValueError) as exc:
            return SkippedFile(source_file, f"damaged or oversized gzip file: {exc}")
    elif source_file.endswith(".gz"):
        return SkippedFile(source_file, "damaged gzip file: named .gz but has no gzip header")
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: judged as bytes below
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
