"""Typed records passed between the ingestion stages (before ids are assigned)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True)
class Paragraph:
    text: str
    line_start: int
    line_end: int

    @cached_property
    def n_words(self) -> int:
        return len(self.text.split())


@dataclass(frozen=True)
class Kept:
    """A source line that ended up in paragraph ``paragraph`` of turn ``turn`` of its page."""

    turn: int
    paragraph: int


@dataclass(frozen=True)
class Dropped:
    """A source line that is not in any paragraph, and the named rule that says why."""

    rule: str


Disposition = Kept | Dropped


@dataclass
class Turn:
    """One speaker turn of a page. ``label`` is the speaker as written (None when unlabelled)."""

    label: str | None
    paragraphs: list[Paragraph]
    speaker: str = ""
    role: str = "unknown"
    role_source: str = ""  # header, registry, outlet_list, or "inferred: <rule>"
    role_evidence: str = ""  # for a role from behaviour: how many of the label's turns did what
    position: str = ""
    outlet: str = ""
    kind: str = "unknown"
    question: int | None = None  # index (within the page) of the question this turn answers
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def n_words(self) -> int:
        return sum(p.n_words for p in self.paragraphs)

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.paragraphs)


@dataclass
class Page:
    """One input file (or, for tabular inputs, one conference of a file) parsed into turns."""

    source_file: str
    title: str
    date: dt.date | None
    date_source: str
    turns: list[Turn]
    lines: dict[int, Disposition]
    warnings: list[str] = field(default_factory=list)
    unknown_speakers: list[str] = field(default_factory=list)
    conference_key: str | None = None  # set by tabular inputs that name their conference
    people: list = field(default_factory=list)  # the page's speaker list (speakers.Person)


@dataclass(frozen=True)
class SkippedFile:
    source_file: str
    reason: str
