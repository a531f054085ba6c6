"""Turns a user already has, as CSV or JSONL rows, into the same ``Page`` records as transcripts.

One row is one speaker turn; its text may hold several paragraphs separated by blank lines.
Rows are grouped into conferences by the ``conference`` column (else ``title``, else
``date``) and ordered by ``turn_index`` when it is mapped, else by file order. Each row's
physical line range in the file is kept, so ``source_file:line`` finds it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass
from typing import Any

from functools import partial

from pipeline.progress import Progress, silent
from pipeline.readers.base import Reader, ReaderContext, decode_source, register
from pipeline.records import Disposition, Dropped, Kept, Page, Paragraph, SkippedFile, Turn
from pipeline.sections import Section
from pipeline.speakers import ProceduralRules, SpeakerDirectory, assign_kinds, assign_roles, clean_name

_ROLES = {"official", "moderator", "journalist"}


class ColumnsConfig(Section):
    """Column names of a CSV/JSONL of turns. Only ``text`` is required."""

    text: str = "text"
    speaker: str | None = "speaker"
    date: str | None = "date"
    conference: str | None = None
    title: str | None = None
    role: str | None = None
    turn_index: str | None = None
    extra: tuple[str, ...] = ()


_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class _Row:
    values: dict[str, Any]
    line_start: int
    line_end: int


# A turn may be a whole speech in one cell: allow fields far beyond the csv module's 128 KiB.
csv.field_size_limit(2**31 - 1)


def _csv_rows(text: str, source_file: str) -> tuple[list[str], list[_Row]] | SkippedFile:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows: list[_Row] = []
    try:
        fieldnames = list(reader.fieldnames or [])
        end = reader.line_num
        for row in reader:
            start, end = end + 1, reader.line_num
            rows.append(_Row(row, start, end))
    except csv.Error as exc:
        return SkippedFile(source_file, f"not a readable CSV file (line {reader.line_num}: {exc})")
    return fieldnames, rows


def _jsonl_rows(text: str, dropped: dict[int, Disposition]) -> tuple[list[str], list[_Row]]:
    rows: list[_Row] = []
    fields: dict[str, None] = {}
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            values = json.loads(line)
        except json.JSONDecodeError:
            dropped[number] = Dropped("invalid_json")
            continue
        if not isinstance(values, dict):
            dropped[number] = Dropped("not_a_json_object")
            continue
        fields.update(dict.fromkeys(values))
        rows.append(_Row(values, number, number))
    return list(fields), rows


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def _unusable_value(values: dict[str, Any], columns: ColumnsConfig) -> str | None:
    """The rule a row is dropped by when a mapped field holds no usable text, else None.

    The text must be a string (or empty); other fields may be strings or numbers.
    """
    text = values.get(columns.text)
    if text is not None and not isinstance(text, str):
        return f"{columns.text}_not_text ({type(text).__name__})"
    for column in (columns.speaker, columns.date, columns.conference, columns.title, columns.role,
                   columns.turn_index, *columns.extra):
        if column is not None and isinstance(values.get(column), (list, dict)):
            return f"{column}_not_text ({type(values[column]).__name__})"
    return None


def _text(values: dict[str, Any], column: str | None) -> str:
    if column is None:
        return ""
    value = values.get(column)
    return "" if value is None else str(value)


def parse_table(
    text: str,
    source_file: str,
    fmt: str,
    columns: ColumnsConfig,
    directory: SpeakerDirectory,
    rules: ProceduralRules,
    progress: Progress = silent,
) -> list[Page] | SkippedFile:
    """Parses a CSV or JSONL file of turns into one ``Page`` per conference."""
    lines: dict[int, Disposition] = {}
    if fmt == "csv":
        parsed = _csv_rows(text, source_file)
        if isinstance(parsed, SkippedFile):
            return parsed
        fieldnames, rows = parsed
        lines[1] = Dropped("csv_header")
    else:
        fieldnames, rows = _jsonl_rows(text, lines)
    if columns.text not in fieldnames:
        return SkippedFile(source_file, f"no column {columns.text!r} (found: {', '.join(fieldnames) or 'none'})")
    warnings = [
        f"column {c!r} named in corpus.columns is not in the file"
        for c in (columns.speaker, columns.date, columns.conference, columns.title, columns.role,
                  columns.turn_index, *columns.extra)
        if c is not None and c not in fieldnames
    ]
    groups: dict[str, list[tuple[_Row, Turn]]] = {}
    for row in progress(rows, len(rows), f"rows of {source_file}"):
        values = row.values
        unusable = _unusable_value(values, columns)
        if unusable:
            for number in range(row.line_start, row.line_end + 1):
                lines[number] = Dropped(unusable)
            continue
        paragraphs = [
            Paragraph(" ".join(part.split()), row.line_start, row.line_end)
            for part in _PARAGRAPH_BREAK.split(_text(values, columns.text))
            if part.strip()
        ]
        if not paragraphs:
            for number in range(row.line_start, row.line_end + 1):
                lines[number] = Dropped("empty_text")
            continue
        speaker = clean_name(_text(values, columns.speaker))
        turn = Turn(speaker or None, paragraphs, speaker=speaker or "unknown",
                    extra={c: _text(values, c) for c in columns.extra})
        key = next(
            (v for c in (columns.conference, columns.title, columns.date) if (v := _text(values, c).strip())),
            "",
        )
        groups.setdefault(key, []).append((row, turn))
    if not groups:
        return SkippedFile(source_file, "no rows with text")

    pages: list[Page] = []
    for key, members in progress(groups.items(), len(groups), f"conferences of {source_file}"):
        if columns.turn_index and all(_text(r.values, columns.turn_index).strip().lstrip("-").isdigit() for r, _ in members):
            members.sort(key=lambda m: int(_text(m[0].values, columns.turn_index)))
        turns = [turn for _, turn in members]
        unknown = assign_roles(turns, directory, rules)
        if columns.role:
            for row, turn in members:
                stated = _text(row.values, columns.role).strip().lower()
                if stated in _ROLES:
                    turn.role, turn.role_source = stated, "input_column"
                    turn.outlet = turn.speaker if stated == "journalist" else ""
            unknown = sorted({t.speaker for t in turns if t.role == "unknown"})
        page_warnings = assign_kinds(turns, opens_conference=True, rules=rules)
        page_lines: dict[int, Disposition] = {}
        for index, (row, turn) in enumerate(members):
            for number in range(row.line_start, row.line_end + 1):
                page_lines[number] = Kept(index, 0)
        first = members[0][0].values
        pages.append(Page(
            source_file, _text(first, columns.title) or key, _date(_text(first, columns.date)),
            "input_column" if _date(_text(first, columns.date)) else "none", turns, page_lines,
            page_warnings, unknown, conference_key=f"{source_file}::{key}",
        ))
    pages[0].lines.update(lines)
    pages[0].warnings[:0] = warnings
    return pages


def read(fmt: str, source_file: str, data: bytes, context: ReaderContext) -> list[Page] | SkippedFile:
    text = decode_source(source_file, data)
    if isinstance(text, SkippedFile):
        return text
    return parse_table(text, source_file, fmt, context.corpus.columns, context.directory, context.rules,
                       context.progress)


CSV_READER = register(Reader(name="csv", read=partial(read, "csv"), uses_columns=True))
JSONL_READER = register(Reader(name="jsonl", read=partial(read, "jsonl"), uses_columns=True))
