"""Who speaks and what a turn does: roles and kinds, shared by every input format.

Roles: ``official`` (header speaker list or registry), ``moderator`` (chairperson or
registry), ``journalist`` (an outlet label, or an unregistered label whose turn asks a
question or is answered by an official), ``unknown`` (reported). Kinds: ``statement`` (an
official's turn before the first question of a page that opens the conference),
``question``, ``answer``, ``procedural`` (hand-overs, floor management, thanks only).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pipeline.records import Turn

_HONORIFIC = re.compile(r"^(?:(?:Mr|Ms|Mrs|Miss|Madam|Dr|Prof)\.?\s+)+", re.IGNORECASE)
_COURTESY_TAIL = re.compile(r"(?i)[\s.,!]*(thank you( very much| all)?|thanks( a lot)?)[\s.!]*$")
_COURTESY_ONLY = re.compile(
    r"(?i)^\s*(thank you|thanks)( very much| all| (a lot|again))?( for (your|the) questions?)?[\s.!]*$"
)


def clean_name(name: str) -> str:
    """A speaker name as written, without honorifics and with single plain spaces."""
    name = " ".join(unicodedata.normalize("NFKC", name).split())
    return _HONORIFIC.sub("", name).strip(" :")


def name_key(name: str) -> str:
    return clean_name(name).casefold()


def is_question(text: str) -> bool:
    """True when a paragraph ends in a question, allowing a trailing "Thank you."."""
    body = _COURTESY_TAIL.sub("", text.strip()).rstrip()
    return body.endswith(("?", '?"', "?”", "?'", "?’"))


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    position: str = ""
    organisation: str = ""


class SpeakerDirectory:
    """Looks up a label: the page's header first, then the registry, then known outlets."""

    def __init__(
        self,
        registry: Mapping[str, Person],
        outlets: Iterable[str],
        header: Mapping[str, Person] | None = None,
    ) -> None:
        self._registry = dict(registry)
        self._outlets = {name_key(outlet): clean_name(outlet) for outlet in outlets}
        self._header = dict(header or {})

    def with_header(self, people: Iterable[Person]) -> "SpeakerDirectory":
        header = {name_key(p.name): p for p in people}
        return SpeakerDirectory(self._registry, self._outlets.values(), header)

    def lookup(self, label: str) -> Person | None:
        key = name_key(label)
        registered = self._registry.get(key)
        on_podium = self._header.get(key)
        if on_podium:
            # The header says who is official or chair today; the registry's curated position
            # (stable across conferences, so groups compare) wins over the page's wording.
            curated = registered.position if registered else ""
            return Person(on_podium.name, on_podium.role, curated or on_podium.position,
                          registered.organisation if registered else "")
        if registered:
            return registered
        if key in self._outlets:
            return Person(self._outlets[key], "journalist")
        return None


def registry_from_records(records: Iterable[Mapping[str, str]]) -> dict[str, Person]:
    """Builds the registry mapping from ``configs/speakers.yaml`` entries (and their aliases)."""
    registry: dict[str, Person] = {}
    for record in records:
        person = Person(
            clean_name(record["name"]), record["role"], record.get("position", ""),
            record.get("organisation", ""),
        )
        for name in (record["name"], *record.get("aliases", ())):
            registry[name_key(name)] = person
    return registry


@dataclass(frozen=True)
class ProceduralRules:
    patterns: tuple[re.Pattern[str], ...]
    max_words: int

    @classmethod
    def compile(cls, patterns: Iterable[str], max_words: int) -> "ProceduralRules":
        return cls(tuple(re.compile(p) for p in patterns), max_words)

    def matches(self, turn: Turn) -> bool:
        if turn.n_words > self.max_words:
            return False
        text = turn.text
        return all(_COURTESY_ONLY.match(p.text) for p in turn.paragraphs) or any(
            pattern.search(text) for pattern in self.patterns
        )


def assign_roles(turns: list[Turn], directory: SpeakerDirectory) -> list[str]:
    """Fills ``speaker``, ``role``, ``position`` and ``outlet``; returns unknown speaker labels."""
    for turn in turns:
        if turn.label is None:
            continue
        person = directory.lookup(turn.label)
        turn.speaker = person.name if person else clean_name(turn.label)
        if person:
            turn.role, turn.position = person.role, person.position
    unknown: list[str] = []
    for index, turn in enumerate(turns):
        if turn.label is None or directory.lookup(turn.label):
            continue
        answered_by_official = index + 1 < len(turns) and turns[index + 1].role == "official"
        if "?" in turn.text or answered_by_official:
            turn.role = "journalist"
        else:
            turn.role = "unknown"
            unknown.append(turn.speaker)
    for turn in turns:
        if turn.role == "journalist" and not turn.outlet:
            turn.outlet = turn.speaker or "unknown"
    return sorted(set(unknown))


def assign_kinds(turns: list[Turn], *, opens_conference: bool, rules: ProceduralRules) -> list[str]:
    """Fills ``kind`` and ``question``; returns warnings for answers whose question is missing."""
    warnings: list[str] = []
    last_question: int | None = None
    for index, turn in enumerate(turns):
        if turn.role == "journalist":
            turn.kind, last_question = "question", index
        elif turn.role == "moderator":
            turn.kind = "procedural"
        elif turn.role == "official":
            if rules.matches(turn):
                turn.kind = "procedural"
            elif last_question is not None:
                turn.kind, turn.question = "answer", last_question
            elif opens_conference:
                turn.kind = "statement"
            else:
                turn.kind = "answer"
                warnings.append(
                    f"turn {index} ({turn.speaker}): answer whose question is not on this page"
                )
        else:
            turn.kind = "unknown"
    return warnings
