"""Who speaks and what a turn does: roles and kinds, shared by every input format.

Roles come first from the curated lists (the registry, whose role and position win; the
page's speaker list; the outlet list). A label none of them knows gets its role by a rule,
named ``inferred: <rule>`` in ``role_source``: an outlet-like name is a journalist, a name
that is the chair ("Moderator") the moderator, a name with an office ("Secretary Kerry") an
official; otherwise what its turns do on the page: answering more often than asking makes an
official, asking a journalist, only managing the floor the moderator, and anything else stays
``unknown`` (reported). Kinds: ``statement`` (an official's turn before the first question of
a page that opens the conference), ``question``, ``answer``, ``procedural`` (hand-overs, floor
management, thanks only).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from pipeline.records import Turn

_HONORIFIC = re.compile(r"^(?:(?:Mr|Ms|Mrs|Miss|Madam|Dr|Prof)\.?\s+)+", re.IGNORECASE)
_COURTESY_TAIL = re.compile(r"(?i)[\s.,!]*(thank you( very much| all)?|thanks( a lot)?)[\s.!]*$")
_COURTESY_ONLY = re.compile(
    r"(?i)^\s*(thank you|thanks)( very much| all| (a lot|again))?( for (your|the) questions?)?[\s.!]*$"
)


@lru_cache(maxsize=4096)  # a page asks of each label many times
def clean_name(name: str) -> str:
    """A speaker name as written, without honorifics and with single plain spaces."""
    name = " ".join(unicodedata.normalize("NFKC", name).split())
    return _HONORIFIC.sub("", name).strip(" :")


def name_key(name: str) -> str:
    return clean_name(name).casefold()


def in_capitals(label: str) -> bool:
    """"MS. PSAKI", "THE PRESIDENT": every letter (of at least two) a capital."""
    letters = [c for c in label if c.isalpha()]
    return len(letters) > 1 and all(c.isupper() for c in letters)


# "Pia Ranada (Rappler)", "JOSEPH MORONG/GMA7": a person and their outlet or office (the person
# of at least two words after a slash, so "Q/A" stays one label); "(through interpreter)" is a note.
_AFFILIATED_LABEL = re.compile(r"^(?P<person>[^()]*?\S)\s*\((?P<affiliation>[^()]{1,60})\)$"
                               r"|^(?P<slashed>[^/()\s][^/()]*?\s[^/()]*?[^/()\s])"
                               r"\s*/\s*(?P<outlet>[^/()\s][^/()]{0,59})$")
_NOT_AN_AFFILIATION = re.compile(r"(?i)interpret|translat|inaudible|unintelligible|crosstalk|off[- ]mic|via\b|video|"
                                 r"phone|audio|remote|continu|in (english|chinese|mandarin|filipino|tagalog)")


def affiliated(label: str) -> tuple[str, str] | None:
    """The person and the bracketed or slashed part of an affiliated label, as written; None
    for any other label."""
    match = _AFFILIATED_LABEL.match(label)
    if not match:
        return None
    person = match.group("person") or match.group("slashed")
    return person, (match.group("affiliation") or match.group("outlet")).strip()


def split_affiliation(label: str) -> tuple[str, str]:
    """A label's person and the affiliation in brackets or after a slash ("" when there is
    none, or the brackets hold a note such as "through interpreter")."""
    parts = affiliated(clean_name(label))
    if parts is None:
        return label, ""
    person, affiliation = parts
    return person, "" if _NOT_AN_AFFILIATION.search(affiliation) else affiliation


# Titles and honorifics before a name ("President", "Pres.", "SP", "Sen.", "Acting Administrator"),
# and generational suffixes after it: neither tells two people apart on a page.
_TITLE_WORDS = frozenset(
    "mr mrs ms miss madam sir dr prof hon honorable the president pres vice senate senator sen sp speaker "
    "secretary sec cabsec undersecretary usec assistant asec minister deputy spokesperson spokesman spokeswoman spox "
    "governor gov mayor rep representative congressman congresswoman chairman chairwoman chairperson chair director "
    "general gen acting administrator ambassador amb commissioner attorney atty executive press".split())
_GENERATIONAL = frozenset({"jr", "sr", "ii", "iii", "iv"})


def variant_key(name: str) -> tuple[str, ...]:
    """A name's words without the titles before it and the suffix after it, case-folded:
    "President Rodrigo Roa Duterte" -> (rodrigo, roa, duterte), "PRES. DUTERTE" -> (duterte,).
    Empty for a title alone ("The President")."""
    words = [w.strip(".,").casefold() for w in clean_name(split_affiliation(name)[0]).split()]
    while words and words[0] in _TITLE_WORDS:
        words.pop(0)
    while words and words[-1] in _GENERATIONAL:
        words.pop()
    return tuple(words)


def unified_names(names: Iterable[str]) -> dict[str, str]:
    """For names that are one person's variants, the name to use for all of them.

    Names with the same key (titles, honorifics and capitals aside) are one; a key that is the
    end of exactly one longer key ("Duterte" of "Rodrigo Roa Duterte"; never "Wang" of "Wang
    Yi", whose surname comes first) is that person. Each group takes its fullest written form
    (most words, then the most frequent, then the first in order). Titles alone stay apart."""
    names = list(names)
    counts = Counter(names)
    first_seen = {name: index for index, name in reversed(list(enumerate(names)))}
    by_key: dict[tuple[str, ...], list[str]] = {}
    for name in counts:
        if key := variant_key(name):
            by_key.setdefault(key, []).append(name)
    by_surname: dict[str, list[tuple[str, ...]]] = {}
    for key in by_key:
        by_surname.setdefault(key[-1], []).append(key)
    parent = {key: key for key in by_key}
    for key in by_key:
        longer = [other for other in by_surname[key[-1]] if len(other) > len(key) and other[-len(key):] == key]
        if longer and all((fullest := max(longer, key=len))[-len(other):] == other for other in longer):
            parent[key] = fullest  # every longer name ending so is one person's
    groups: dict[tuple[str, ...], list[str]] = {}
    for key, written in by_key.items():
        groups.setdefault(parent[key], []).extend(written)
    chosen = {}
    for written in groups.values():
        fullest = max(written, key=lambda n: (len(variant_key(n)), counts[n], -first_seen[n]))
        chosen.update({name: fullest for name in written})
    return chosen


def display_name(label: str) -> str:
    """A label as a speaker name: "MS. JEAN-PIERRE" is "Jean-Pierre", "Xiao Yaqing" stays."""
    name = clean_name(label)
    return name.title() if in_capitals(name) else name


# Words that name a news organisation rather than a person ("Beijing Youth Daily", "Phoenix TV").
_OUTLET_LIKE = re.compile(
    r"(?i)\b(news|daily|times|tv|television|radio|agency|post|journal|broadcasting|network|media|herald|"
    r"tribune|magazine|channel|paper|gazette|wire|weekly|reuters|bloomberg|afp|cnn|bbc|nhk|kyodo|xinhua)\b"
)


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

    def source(self, label: str) -> str:
        """Which curated list knows the label: header, registry, outlet_list, or ""."""
        key = name_key(label)
        return next((name for name, known in (("registry", self._registry), ("header", self._header),
                                              ("outlet_list", self._outlets)) if key in known), "")

    def lookup(self, label: str) -> Person | None:
        key = name_key(label)
        registered = self._registry.get(key)
        on_podium = self._header.get(key)
        if on_podium and registered:
            # The registry is curated: its role and position (stable across conferences, so
            # groups compare) win over the page's wording and the header's guess of the chair.
            return Person(on_podium.name, registered.role, registered.position or on_podium.position,
                          registered.organisation)
        if on_podium:
            return on_podium
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


# Labels that name an office ("Senior Administration Official", "Secretary Kerry", "The
# President") or the chair ("Moderator", "Operator").
_OFFICE_LIKE = re.compile(
    r"(?i)\b(officials?|spokes(?:person|man|woman)|secretary|minister|ambassador|administrator|director|commissioner|"
    r"adviser|advisor|coordinator|president|vice president|premier|governor|chairman of)\b")
_CHAIR_LIKE = re.compile(r"(?i)^\s*(the\s+)?(moderator|operator|host|chair|chairperson|emcee|presenter)\s*$")


def outlet_like(label: str) -> bool:
    """A label that names a news organisation ("Beijing Youth Daily", "Phoenix TV")."""
    return bool(_OUTLET_LIKE.search(label))


def names_a_role(label: str) -> bool:
    """A label that names the chair ("Moderator", "Shou Xiaoli (moderator)") or an office
    ("Secretary Kerry")."""
    return bool(_CHAIR_LIKE.match(label) or _CHAIR_LIKE.match(split_affiliation(label)[1])
                or _OFFICE_LIKE.search(label))


def assign_roles(turns: list[Turn], directory: SpeakerDirectory, rules: ProceduralRules) -> list[str]:
    """Fills ``speaker``, ``role``, ``role_source``, ``position`` and ``outlet``; returns the
    labels whose role neither a curated list nor a rule gives (``unknown``). A role the reader
    already gave (``role_source`` set) stands unless a curated list knows the label."""
    unresolved: dict[str, list[int]] = {}
    affiliations: dict[int, str] = {}
    for index, turn in enumerate(turns):
        if turn.label is None:
            continue
        person_label, affiliations[index] = split_affiliation(turn.label)
        person = directory.lookup(turn.label)
        known = turn.label if person else person_label
        person = person or directory.lookup(person_label)
        turn.speaker = person.name if person else display_name(person_label)
        if person:
            turn.role, turn.position, turn.role_source = person.role, person.position, directory.source(known)
        elif turn.role_source:
            continue  # placed by the reader before (the official a page's title names)
        elif outlet_like(turn.label):
            turn.role, turn.role_source = "journalist", "inferred: outlet-like label"
        elif _CHAIR_LIKE.match(person_label) or _CHAIR_LIKE.match(affiliations[index]):
            turn.role, turn.role_source = "moderator", "inferred: label names the chair"
        elif _OFFICE_LIKE.search(turn.label):
            turn.role, turn.role_source = "official", "inferred: label names an office"
        else:
            unresolved.setdefault(name_key(person_label), []).append(index)
    # Who answers depends on who asked and the other way round: settle until nothing changes.
    for _ in range(len(unresolved) + 1):
        changed = False
        for indices in unresolved.values():
            role, rule, evidence = _structural_role(turns, indices, rules)
            changed |= turns[indices[0]].role != role
            for index in indices:
                turns[index].role, turns[index].role_source, turns[index].role_evidence = role, rule, evidence
        if not changed:
            break
    _moderators_by_structure(turns, directory, rules)
    for index, turn in enumerate(turns):
        if turn.role == "journalist" and not turn.outlet:
            turn.outlet = affiliations.get(index) or turn.speaker or "unknown"
    return sorted({turn.speaker for turn in turns if turn.label is not None and turn.role == "unknown"})


# The chair's two moves: opening the conference ("Ladies and gentlemen, good morning. Welcome to
# ...", "we have invited ...") and giving the floor ("Now the floor is open for questions").
_OPENS = re.compile(r"(?i)\b(ladies and gentlemen|welcome to (this|today'?s|the)|we have (invited|with us)|joining us "
                    r"(today|here)|(let me|i'?d like to|i would like to) introduce)\b")
_GIVES_FLOOR = re.compile(r"(?i)\b(the floor is (now )?open|the floor is yours|give the floor|questions? (are|is) "
                          r"(now )?welcome|please (raise your hands?|state|identify)|next question|(first|last) "
                          r"question)\b")


# A greeting to the room as a turn's first words ("Good afternoon, everyone."; "Good afternoon."
# alone may open an inner page's answer), or thanks for coming in its first sentences.
_GREETS_THE_ROOM = re.compile(r"(?i)^\W*(good (morning|afternoon|evening)|hello|hi)\W+(everyone|everybody|all|ladies|"
                              r"friends|folks|guys)\b")
_THANKS_FOR_COMING = re.compile(r"(?i)\b(thank you (all )?for (joining|coming)|welcome to our)\b")
_OPENING_CHARACTERS = 200


def opens_a_conference(turns: list[Turn]) -> bool:
    """The page's first turn opens the conference ("Ladies and gentlemen, ...", "Welcome to
    the regular press conference", "Good afternoon, everyone.", "Thank you for joining us"), so
    what it says is a statement, not an answer to a question on an earlier page."""
    return bool(turns) and bool(_OPENS.search(turns[0].text) or _GREETS_THE_ROOM.match(turns[0].text)
                                or _THANKS_FOR_COMING.search(turns[0].text[:_OPENING_CHARACTERS]))


# A spokesperson who opens the conference also answers, often briefly ("We have stated our
# position many times."): two such replies to a journalist, or one long one, are answers.
_SHORT_ANSWER_WORDS = 8


def _moderators_by_structure(turns: list[Turn], directory: SpeakerDirectory, rules: ProceduralRules) -> None:
    """A speaker whose turns open the conference and give the floor, and who answers no
    question (a long reply to a journalist, or two short ones that neither ask, hand over nor
    follow a procedural rule), chairs it: moderator, whatever the page's speaker list or a rule
    guessed. Only the registry, the user's own word, stands against it."""
    by_speaker: dict[str, list[int]] = {}
    for index, turn in enumerate(turns):
        if turn.label is not None and turn.role != "journalist" and directory.source(turn.label) != "registry":
            by_speaker.setdefault(turn.speaker, []).append(index)
    for indices in by_speaker.values():
        said = [turns[i].text for i in indices]
        replies = [turns[i] for i in indices if i and turns[i - 1].role == "journalist"]
        short_answers = sum(_SHORT_ANSWER_WORDS <= reply.n_words and not rules.matches(reply)
                            and not _GIVES_FLOOR.search(reply.text) and not is_question(reply.paragraphs[-1].text)
                            for reply in replies)
        answers = short_answers >= 2 or any(reply.n_words > rules.max_words for reply in replies)
        if turns[indices[0]].role != "moderator" and not answers and any(_OPENS.search(t) for t in said) and any(
                _GIVES_FLOOR.search(t) for t in said):
            for i in indices:
                turns[i].role, turns[i].role_source = "moderator", "inferred: opens the conference and gives the floor"


def _names(text: str, label: str | None) -> bool:
    """The text names the label's speaker by surname ("... over to you, Dr. Fauci.")."""
    surname = _surname(label or "")
    return surname is not None and surname.search(text) is not None


@lru_cache(maxsize=4096)
def _surname(label: str) -> re.Pattern[str] | None:
    surname = name_key(split_affiliation(label)[0]).split()[-1:]
    return re.compile(rf"(?i)\b{re.escape(surname[0])}\b") if surname and len(surname[0]) > 2 else None


_SENTENCES = re.compile(r"(?<=[.!?])\s+")


def _only_questions(text: str) -> bool:
    """No sentence of four words or more that is not a question ("Next? You, sir?"); an answer
    that closes with "Is that clear?" has statements before it."""
    return not any(len(s.split()) >= 4 and not s.rstrip().endswith("?") for s in _SENTENCES.split(text.strip()))


def _structural_role(turns: list[Turn], indices: list[int], rules: ProceduralRules) -> tuple[str, str, str]:
    """The role one unregistered label's turns show on the page, the rule that says so, and
    the evidence: how many of its turns answered, asked and handed over.

    A turn answers when the turn before it, another label's, asks (a journalist's turn, a
    question, or a turn that names this label: "... over to you, Dr. Fauci.") and it asks
    nothing back, or only closes with a question nobody takes up at length (a president's "Is
    that clear?"); it asks when it ends in a question that the next speaker answers at length
    or an official takes up, and that does not name the next speaker ("Dr. Walensky?" hands
    over); it manages the floor when a journalist or the speaker it names speaks next, it is
    procedural, or it is short ("Last one.", a chairman's "Next? You, sir?", which asks only
    questions) and does neither.
    None of this rests on the neighbours' roles alone, so a long page cannot tip a whole
    exchange over (tests/test_label_forms.py).
    """
    answers = asks = hands_over = 0
    for index in indices:
        turn = turns[index]
        before = turns[index - 1] if index else None
        after = turns[index + 1] if index + 1 < len(turns) else None
        # "Dr. Fauci?" to the next speaker hands over; it asks nothing.
        hands_to_next = after is not None and after.label not in (None, turn.label) and _names(turn.text, after.label)
        asked = is_question(turn.paragraphs[-1].text) and not hands_to_next
        short = turn.n_words <= rules.max_words
        taken_up = after is not None and after.label != turn.label and (
            after.n_words > rules.max_words or after.role == "official")
        before_asks = before is not None and before.label != turn.label and (
            before.role == "journalist" or is_question(before.paragraphs[-1].text) or _names(before.text, turn.label))
        if before_asks and (not asked or not (taken_up or _only_questions(turn.text))):
            answers += 1
        elif asked and taken_up or ("?" in turn.text and not hands_to_next and after is not None
                                    and after.role == "official"):
            asks += 1
        elif after is not None and after.role == "journalist" or hands_to_next or rules.matches(turn) or short:
            hands_over += 1
    evidence = f"{answers} answers, {asks} questions, {hands_over} hand-overs in {len(indices)} turns"
    if answers > asks:
        return "official", "inferred: answers questions", evidence
    if asks:
        return "journalist", "inferred: asks questions", evidence
    if hands_over:
        return "moderator", "inferred: gives the floor", evidence
    return "unknown", "", evidence


UNANSWERED = "answer whose question is not on this page"
CURATED_SOURCES = frozenset({"registry", "header", "outlet_list", "input_column"})


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
                    f"turn {index} ({turn.speaker}): {UNANSWERED}"
                )
        else:
            turn.kind = "unknown"
    return warnings
