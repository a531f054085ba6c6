"""From parsed pages to the corpus tables (conferences, turns, paragraphs) and ingest report.

Pages of one conference (same normalised title and held date; see ``conference_groups``)
merge and share their speaker list; the page with the most
paragraphs is read first, so when another page repeats a paragraph word for word, the copy
is the one marked ``duplicate_of``. Ids are derived from the conference date and title and
from positions within it, never from hashes or dict order.
"""

from __future__ import annotations

import datetime as dt
import re
import textwrap
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from pipeline.config import CorpusConfig
from pipeline import schemas
from pipeline.errors import InputError
from pipeline.language import paragraph_language
from pipeline.progress import Progress, silent
from pipeline.readers import READERS, Reader, ReaderContext
from pipeline.records import Kept, Page, SkippedFile, Turn
from pipeline.speakers import (CURATED_SOURCES, UNANSWERED, Person, ProceduralRules, SpeakerDirectory, assign_kinds,
                               name_key, unified_names)

CONFERENCE_COLUMNS = list(schemas.CONFERENCES.columns)
TURN_COLUMNS = list(schemas.TURNS.columns)
PARAGRAPH_COLUMNS = list(schemas.PARAGRAPHS.columns)
_SUB_PAGE_NUMBER = re.compile(r"(?i)\s*(?:\(\s*\d{1,2}\s*\)|\b(?:page|part)\s+\d{1,2})\s*$")
# The particulars of a warning (parentheses, quoted names, numbers, paths), dropped to name its kind.
_VARIABLE_PARTS = re.compile(r"\([^)]*\)|'[^']*'|(?<![\w-])\d+(?![\w-])|[^\s:;,]*[/\\][^\s:;,]*")
_TITLE_PREFIX = re.compile(r"^(scio\s+)?((press\s+)?(conference|briefing)s?\s+)?(on\s+)?")


@dataclass(frozen=True)
class Corpus:
    conferences: pd.DataFrame
    turns: pd.DataFrame
    paragraphs: pd.DataFrame
    report: dict[str, Any] = field(hash=False)


def ingest(
    sources: Sequence[tuple[str, bytes]],
    cfg: CorpusConfig,
    registry: Mapping[str, Person],
    *,
    unmatched_inputs: Iterable[str] = (),
    progress: Progress = silent,
    workers: Mapping[str, Any] | None = None,
) -> Corpus:
    """Reads every source (name, bytes) with the configured format's reader and builds the corpus.

    Unusable files are skipped with their reason in the report; raises ``InputError`` only
    when nothing usable is left. ``workers``: the arguments of a joblib ``Parallel`` in which
    a large corpus's files are read (``read_files``); None reads them all here.
    """
    context = ReaderContext(
        cfg, SpeakerDirectory(registry, cfg.scio.outlets),
        ProceduralRules.compile(cfg.scio.procedural_patterns, cfg.scio.procedural_max_words), progress,
    )
    reader = READERS[cfg.format]
    pages: list[Page] = []
    skipped: list[SkippedFile] = []
    languages: dict[str, str] = {}
    for parsed, page_languages in progress(read_files(sources, reader, context, workers), len(sources), "files"):
        if isinstance(parsed, SkippedFile):
            skipped.append(parsed)
        else:
            pages.extend(parsed)
            languages.update(page_languages)
    unmatched = list(unmatched_inputs)
    if not pages:
        reasons = [f"{s.source_file}: {s.reason}" for s in skipped] + [f"{g}: matches no file" for g in unmatched]
        raise InputError("no usable input (" + ("; ".join(reasons) or "no input files") + ")")
    notes = [
        f"corpus.date_overrides names {name!r}, which is not an input file"
        for name in apply_date_overrides(pages, cfg.date_overrides)
    ]
    share_speaker_lists(conference_groups(pages, cfg.merge), context.directory, context.rules)
    return build_corpus(pages, skipped, unmatched_inputs=unmatched,
                        extra_columns=cfg.columns.extra if reader.uses_columns else (), notes=notes, progress=progress,
                        merge=cfg.merge, language_of=languages.__getitem__)


# Reading costs by the line. Below this many lines, starting worker processes (about 0.7 s)
# costs about what it saves: 500 SCIO pages (47,600 lines) are read in 2.1 s either way, 500
# White House briefings (427,000 lines) in 10 s here and 7 in two workers.
PARALLEL_LINES = 100_000


def read_files(sources: Sequence[tuple[str, bytes]], reader: Reader, context: ReaderContext,
               workers: Mapping[str, Any] | None = None, parallel_lines: int = PARALLEL_LINES,
               ) -> Iterator[tuple[list[Page] | SkippedFile, dict[str, str]]]:
    """Each source's pages (or why it is skipped) and the language of each of their paragraphs,
    in the sources' order. Files are read independently of one another, so past
    ``parallel_lines`` lines of input they are read in the worker processes of a joblib
    ``Parallel`` with the arguments ``workers`` (a run's own, started already for its fits);
    the result is the same either way."""
    lines = sum(max(data.count(b"\n"), data.count(b"\r")) for _, data in sources)
    if workers is None or len(sources) < 2 or lines < parallel_lines:
        return (_read_file(reader, source_file, data, context) for source_file, data in sources)
    from joblib import Parallel, delayed

    context = replace(context, progress=silent)  # the progress bar is this process's
    return Parallel(n_jobs=-1, return_as="generator", **workers)(
        delayed(_read_file)(reader, source_file, data, context) for source_file, data in sources)


def _read_file(reader: Reader, source_file: str, data: bytes,
               context: ReaderContext) -> tuple[list[Page] | SkippedFile, dict[str, str]]:
    parsed = reader.read(source_file, data, context)
    if isinstance(parsed, SkippedFile):
        return parsed, {}
    return parsed, {p.text: paragraph_language(p.text) for page in parsed for turn in page.turns
                    for p in turn.paragraphs}


def normalized_title(title: str) -> str:
    """The title as conferences are matched by: case, punctuation, a leading "SCIO press
    conference on" and a sub-page number ("(2)", "Page 3", "Part 2") do not count."""
    text = _SUB_PAGE_NUMBER.sub("", unicodedata.normalize("NFKC", title)).casefold()
    text = " ".join(re.sub(r"[^\w\s-]", " ", text).split())
    return _TITLE_PREFIX.sub("", text)


def paragraph_key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _slug(title: str, words: int = 8) -> str:
    tokens = re.findall(r"[a-z0-9]+", normalized_title(title))
    return "-".join(tokens[:words]) or "untitled"


def apply_date_overrides(pages: list[Page], overrides: Mapping[str, dt.date]) -> list[str]:
    """Replaces page dates named in the config (by file name); returns unused override names."""
    used: set[str] = set()
    for page in pages:
        name = page.source_file.rsplit("/", 1)[-1]
        if name in overrides:
            page.date, page.date_source = overrides[name], "config_override"
            used.add(name)
    return sorted(set(overrides) - used)


# Date sources that state when the conference was held (not when a page was published).
_STATED = frozenset({"config_override", "conference_date", "front_matter", "conference_day_with_publication_year",
                     "conference_day_with_url_year", "input_column"})
_MANY_FILES = 5  # a conference of more pages than this is named in the report
_SUB_PAGE_LAG = dt.timedelta(days=14)


def conference_groups(pages: list[Page], merge: str = "auto") -> list[list[Page]]:
    """Pages of one conference, in id order (``merge``: ``corpus.merge``). A conference is a
    title (or a tabular input's conference key) and a held date; with "auto", a page with the
    title and only a publication date (a sub-page published later) joins the latest conference
    of that title held up to 14 days before whose pages it quotes (a paragraph of 12 words or
    more), whose speaker list names a speaker of a page that has none of its own, or when its
    title is numbered ("(2)"): a recurring title ("Press Briefing by Press Secretary ...", the
    same spokesperson every week) is no evidence of one event. Pages of other titles merge when
    held the same day with the same speaker list; "same_day" merges only a title and a date; "never" keeps
    each file apart. A page with no date at all is a conference of its own: a title alone is no
    evidence that two pages are one event (500 undated pages of one site's "Regular Press
    Conference" would otherwise be one conference)."""
    by_title: dict[str, list[Page]] = {}
    for page in pages:
        title_key = page.conference_key or normalized_title(page.title) or page.source_file
        by_title.setdefault(page.source_file if merge == "never" else title_key, []).append(page)
    groups: dict[tuple[str, str, str], list[Page]] = {}  # (held date, title key, file of an undated page)
    for key, members in by_title.items():
        passages: dict[dt.date, set[str]] = {}  # held date -> the long paragraphs of that day's pages
        listed: dict[dt.date, set[str]] = {}  # held date -> the people of their speaker lists
        sub_pages = merge == "auto" and any(p.date is not None and p.date_source not in _STATED for p in members)
        for page in members if sub_pages else ():
            if page.date is not None and page.date_source in _STATED:
                passages.setdefault(page.date, set()).update(_passages(page))
                listed.setdefault(page.date, set()).update(name_key(person.name) for person in page.people)
        for page in members:
            date = page.date
            if date is None:
                groups.setdefault(("", key, page.source_file), []).append(page)
                continue
            if page.date_source not in _STATED and sub_pages:
                quoted, speaking = _passages(page), {name_key(t.speaker) for t in page.turns if t.label is not None}
                parts_of = [d for d in sorted(passages) if dt.timedelta(0) <= date - d <= _SUB_PAGE_LAG
                            and (passages[d] & quoted or not page.people and listed[d] & speaking
                                 or _SUB_PAGE_NUMBER.search(page.title))]
                date = parts_of[-1] if parts_of else date
            groups.setdefault((date.isoformat(), key, ""), []).append(page)
    # Pages whose titles differ (one cut short) but that were held the same day with the same
    # speaker list are one conference.
    by_podium: dict[tuple[str, frozenset[str]], tuple[str, str, str]] = {}
    for group_key, members in list(groups.items()):
        date_key = group_key[0]
        podium = frozenset(person.name for page in members for person in page.people)
        if not date_key or not podium or merge != "auto":
            continue
        first = by_podium.setdefault((date_key, podium), group_key)
        if first != group_key:
            groups[first] += groups.pop(group_key)
    ordered = []
    for _, members in sorted(groups.items()):
        members.sort(key=lambda p: (-sum(len(t.paragraphs) for t in p.turns), p.source_file))
        ordered.append(members)
    return ordered


_PASSAGE_WORDS = 12  # a paragraph this long is not repeated by chance on another conference's page


def _passages(page: Page) -> set[str]:
    return {paragraph_key(p.text) for turn in page.turns for p in turn.paragraphs
            if p.n_words >= _PASSAGE_WORDS}


def share_speaker_lists(groups: list[list[Page]], directory: SpeakerDirectory, rules: ProceduralRules) -> None:
    """Pages of one conference share its speaker list: a label that another page's list
    names, and that no curated list placed on its own page, takes the role that list gives
    (``role_source`` "header of another page"), and the page's kinds are read again."""
    for group in groups:
        conference_directory = directory.with_header([person for page in group for person in page.people])
        for page in group:
            changed = False
            for turn in page.turns:
                person = conference_directory.lookup(turn.label) if turn.label else None
                if person is not None and turn.role_source not in CURATED_SOURCES:
                    turn.speaker, turn.role, turn.position = person.name, person.role, person.position
                    turn.role_source, changed = "header of another page", True
            if changed:
                page.warnings = [w for w in page.warnings if not w.endswith(UNANSWERED)] + assign_kinds(
                    page.turns, opens_conference=bool(page.people), rules=rules)
                page.unknown_speakers = sorted({t.speaker for t in page.turns if t.label and t.role == "unknown"})


# Date sources, most trusted first (``date_source`` in conferences.csv): the config's override;
# a date the page states as the conference's (a date line, a "Date:" field, a dateline with a
# time, the title); a front matter's; a "held on <day>" with the year of the publication date or
# the URL; the publication date; the markup's date (htmldate); a date only above the page's
# title (a scraper's field, or a site that prints its date first); a date in the page's URL.
DATE_TRUST = ("config_override", "conference_date", "front_matter", "conference_day_with_publication_year",
              "conference_day_with_url_year", "publication_date", "html_metadata", "above_title", "url_date")


def _best_date(pages: list[Page]) -> tuple[dt.date | None, str]:
    rank = list(DATE_TRUST)
    dated = [p for p in pages if p.date is not None]
    if not dated:
        return None, "none"
    best = min(dated, key=lambda p: rank.index(p.date_source) if p.date_source in rank else len(rank))
    return best.date, best.date_source


def build_corpus(
    pages: list[Page],
    skipped: Iterable[SkippedFile] = (),
    *,
    unmatched_inputs: Iterable[str] = (),
    extra_columns: Iterable[str] = (),
    notes: Iterable[str] = (),
    progress: Progress = silent,
    merge: str = "auto",
    language_of: Callable[[str], str] = paragraph_language,
) -> Corpus:
    """Merges pages into conferences, marks duplicates, assigns ids, and builds the report
    (``language_of``: a paragraph's language, when it is known already)."""
    extra_columns = list(extra_columns)
    conferences, turns, paragraphs = [], [], []
    line_ids: dict[tuple[str, int], str] = {}
    used_ids: Counter[str] = Counter()
    conference_of_page: dict[int, str] = {}
    groups = conference_groups(pages, merge)
    variants = unified_names(t.speaker for page in pages for t in page.turns if t.label is not None)

    def speaker_of(turn: Turn) -> str:
        """The turn's speaker, one name for a person's variants unless a curated list named it."""
        uncurated = turn.label is not None and turn.role_source not in CURATED_SOURCES
        return variants.get(turn.speaker, turn.speaker) if uncurated else turn.speaker

    for group in progress(groups, len(groups), "building conferences"):
        date, date_source = _best_date(group)
        base = f"{date.isoformat() if date else 'undated'}-{_slug(group[0].title)}"
        used_ids[base] += 1
        conference_id = base if used_ids[base] == 1 else f"{base}-{used_ids[base]}"
        conferences.append({
            "conference_id": conference_id, "title": group[0].title,
            "date": date.isoformat() if date else "", "year": date.year if date else None,
            "date_source": date_source,
            "source_files": ";".join(sorted({p.source_file for p in group})),
        })
        seen: dict[str, tuple[str, str]] = {}
        turn_index = 0
        for page in group:
            conference_of_page[id(page)] = conference_id
            local_ids: dict[int, str] = {}
            for local, turn in enumerate(page.turns):
                turn_id = f"{conference_id}/t{turn_index:03d}"
                local_ids[local] = turn_id
                turn_index += 1
                copies = []
                for p_index, paragraph in enumerate(turn.paragraphs):
                    paragraph_id = f"{turn_id}/p{p_index:02d}"
                    # Only a copy from another file of the conference is a duplicate: a page
                    # repeating itself ("Thank you!" after two answers) is what was said.
                    first_file, first_id = seen.setdefault(paragraph_key(paragraph.text), (page.source_file, paragraph_id))
                    duplicate_of = first_id if first_file != page.source_file else ""
                    copies.append(duplicate_of)
                    for number in range(paragraph.line_start, paragraph.line_end + 1):
                        line_ids[(page.source_file, number)] = paragraph_id
                    paragraphs.append({
                        "paragraph_id": paragraph_id, "turn_id": turn_id, "conference_id": conference_id,
                        "date": date.isoformat() if date else "", "year": date.year if date else None,
                        "speaker": speaker_of(turn), "role": turn.role, "kind": turn.kind,
                        "paragraph_index": p_index, "text": paragraph.text, "lang": language_of(paragraph.text),
                        "n_words": paragraph.n_words, "source_file": page.source_file,
                        "line_start": paragraph.line_start, "line_end": paragraph.line_end,
                        "duplicate_of": duplicate_of, **{c: turn.extra.get(c, "") for c in extra_columns},
                    })
                original_turns = {c.rsplit("/", 1)[0] for c in copies}
                turns.append({
                    "turn_id": turn_id, "conference_id": conference_id, "turn_index": turn_index - 1,
                    "speaker": speaker_of(turn), "label": turn.label or "", "role": turn.role,
                    "role_source": turn.role_source, "role_evidence": turn.role_evidence,
                    "position": turn.position,
                    "outlet": turn.outlet, "kind": turn.kind,
                    "question_turn_id": local_ids.get(turn.question, "") if turn.question is not None else "",
                    "n_paragraphs": len(turn.paragraphs), "n_words": turn.n_words,
                    "duplicate_of": original_turns.pop() if all(copies) and len(original_turns) == 1 else "",
                    "source_file": page.source_file,
                    "line_start": turn.paragraphs[0].line_start, "line_end": turn.paragraphs[-1].line_end,
                    **{c: turn.extra.get(c, "") for c in extra_columns},
                })
    notes = [*notes, *(f"conference {c['conference_id']} has no date ({c['source_files']}): it is modelled but left "
                       "out of comparisons by year; give its date in corpus.date_overrides"
                       for c in conferences if not c["date"])]
    notes += [f"conference {c['conference_id']} holds {len(files)} files ({', '.join(files[:3])}, ...): pages of one "
              f"title and date are merged (corpus.merge: {merge}); check that they are one event, or set "
              "corpus.merge: never to keep every file apart"
              for c in conferences for files in [c["source_files"].split(";")] if len(files) > _MANY_FILES]
    report = _report(pages, list(skipped), line_ids, conference_of_page, list(unmatched_inputs), notes)
    frames = (
        pd.DataFrame(conferences, columns=CONFERENCE_COLUMNS).astype({"year": "Int64"}),
        pd.DataFrame(turns, columns=TURN_COLUMNS + extra_columns),
        pd.DataFrame(paragraphs, columns=PARAGRAPH_COLUMNS + extra_columns).astype({"year": "Int64"}),
    )
    for frame, schema in zip(frames, (schemas.CONFERENCES, schemas.TURNS, schemas.PARAGRAPHS)):
        schema.check(frame, "ingested corpus")
    report["totals"].update(
        conferences=len(conferences), turns=len(turns), paragraphs=len(paragraphs),
        duplicate_paragraphs=int((frames[2]["duplicate_of"] != "").sum()),
    )
    return Corpus(*frames, report=report)


def warning_kind(message: str) -> str:
    """A warning without its particulars (numbers, parentheses, quoted names, paths):
    "turn 3 (Xiao): answer whose question is not on this page" is of the kind "turn: answer
    whose question is not on this page"."""
    return " ".join(_VARIABLE_PARTS.sub(" ", message).split()).replace(" :", ":").replace(" ;", ";").strip(" :;,")


def warnings_by_kind(files: list[dict[str, Any]], unmatched_inputs: list[str], notes: list[str]) -> list[dict[str, Any]]:
    """Every warning of an ingestion (skipped files, page warnings, unknown speakers, unmatched
    inputs, notes) counted by kind, most frequent first, with the first three as examples."""
    found: list[tuple[str, str]] = []  # (kind, example)
    for entry in files:
        source = entry["source_file"]
        if entry["status"] == "skipped":
            found.append((f"file skipped: {warning_kind(entry['reason'])}", f"{source}: {entry['reason']}"))
            continue
        found += [(warning_kind(w), f"{source}: {w}") for w in entry["warnings"]]
        if entry["unknown_speakers"]:
            found.append(("unknown speakers (add them to the registry)",
                          f"{source}: {', '.join(entry['unknown_speakers'])}"))
    found += [("input pattern matches no file", f"corpus.inputs: {pattern} matches no file")
              for pattern in unmatched_inputs]
    found += [(warning_kind(note), note) for note in notes]
    kinds: dict[str, list[str]] = {}
    for kind, example in found:
        kinds.setdefault(kind, []).append(example)
    ordered = sorted(kinds.items(), key=lambda item: (-len(item[1]), item[0]))
    return [{"kind": kind, "count": len(examples), "examples": examples[:3]} for kind, examples in ordered]


def warning_summary(report: Mapping[str, Any], max_kinds: int = 8) -> list[str]:
    """At most ``max_kinds`` + 2 lines: the count of warnings by kind, one example each."""
    kinds = report.get("warnings_by_kind", [])
    if not kinds:
        return []
    total = sum(k["count"] for k in kinds)
    lines = [f"{total} ingest warning{'s' if total != 1 else ''} of {len(kinds)} kind{'s' if len(kinds) != 1 else ''} "
             "(every one in corpus/ingest_report.json):"]
    lines += [f"  {k['count']} x {k['kind']} (e.g. {textwrap.shorten(k['examples'][0], 160, placeholder=' ...')})"
              for k in kinds[:max_kinds]]
    if len(kinds) > max_kinds:
        rest = kinds[max_kinds:]
        lines.append(f"  and {sum(k['count'] for k in rest)} more of {len(rest)} other kinds")
    return lines


def _report(
    pages: list[Page],
    skipped: list[SkippedFile],
    line_ids: dict[tuple[str, int], str],
    conference_of_page: dict[int, str],
    unmatched_inputs: list[str],
    notes: list[str],
) -> dict[str, Any]:
    by_file: dict[str, list[Page]] = {}
    for page in pages:
        by_file.setdefault(page.source_file, []).append(page)
    files: list[dict[str, Any]] = []
    for source_file, file_pages in sorted(by_file.items()):
        lines: dict[int, dict[str, Any]] = {}
        for page in file_pages:
            for number, disposition in page.lines.items():
                if isinstance(disposition, Kept):
                    lines[number] = {"line": number, "status": "kept",
                                     "paragraph_id": line_ids[(source_file, number)]}
                else:
                    lines[number] = {"line": number, "status": "dropped", "rule": disposition.rule}
        dropped = Counter(entry["rule"] for entry in lines.values() if entry["status"] == "dropped")
        files.append({
            "source_file": source_file, "status": "parsed", "reason": "",
            "conference_ids": sorted({conference_of_page[id(p)] for p in file_pages}),
            "title": file_pages[0].title, "date_on_page": str(file_pages[0].date or ""),
            "date_source": file_pages[0].date_source,
            "lines_accounted": len(lines),
            "lines_kept": sum(1 for e in lines.values() if e["status"] == "kept"),
            "lines_dropped": dict(sorted(dropped.items())),
            "unknown_speakers": sorted({s for p in file_pages for s in p.unknown_speakers}),
            "warnings": [w for p in file_pages for w in p.warnings],
            "lines": [lines[n] for n in sorted(lines)],
        })
    for skip in sorted(skipped, key=lambda s: s.source_file):
        files.append({"source_file": skip.source_file, "status": "skipped", "reason": skip.reason})
    parsed = [f for f in files if f["status"] == "parsed"]
    return {
        "files": files,
        "unmatched_inputs": unmatched_inputs,
        "notes": notes,
        "warnings_by_kind": warnings_by_kind(files, unmatched_inputs, notes),
        "totals": {
            "files_parsed": len(parsed),
            "files_skipped": len(files) - len(parsed),
            "lines_accounted": sum(f["lines_accounted"] for f in parsed),
            "lines_kept": sum(f["lines_kept"] for f in parsed),
            "lines_dropped": sum(sum(f["lines_dropped"].values()) for f in parsed),
        },
    }
