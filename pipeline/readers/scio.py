"""Parsing SCIO press-conference web scrapes into a ``Page`` of turns.

Every non-blank line ends up either in a paragraph or dropped under a named rule (a
boilerplate regex from the config, or one of the header/label rules below). Paragraphs end
at a blank line, a speaker label, or a line that ends a sentence; the last rule copes with
pages that have no blank lines at all while still joining hard-wrapped lines.

Labels come in two layouts, mixed freely on one page: on a line of their own
("Xiao Yaqing:"), or inline before the text ("MS. PSAKI:  Good afternoon.", "Reuters: ...",
"Q    text", "Q: ..." / "A: ..."). An inline label is taken when the page gives reason to
(Q or A, a known speaker or outlet, an outlet-like name, capitals, a short label before a
question, a label used at least twice), so "In 2021: output rose" stays text. "A" is the official the title (or the speaker list) names.
A YAML front matter (``---`` ... ``---``: title, date, source_url) gives the title and date.
"""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from pipeline.readers.base import Reader, ReaderContext, decode_source, register
from pipeline.readers.html_text import html_date, html_text
from pipeline.records import Disposition, Dropped, Kept, Page, Paragraph, SkippedFile, Turn
from pipeline.sections import Regex, Section, check_regex
from pipeline.speakers import (
    Person,
    ProceduralRules,
    SpeakerDirectory,
    affiliated,
    assign_kinds,
    assign_roles,
    clean_name,
    in_capitals,
    is_question,
    name_key,
    names_a_role,
    opens_a_conference,
    outlet_like,
)

DEFAULT_BOILERPLATE: dict[str, str] = {
    "navigation": r"^\s*ㄑ",
    "read_in_chinese": r"^\s*Read in Chinese\s*$",
    "pagination": r"^[\s<>\d]*\d[\s<>\d]*$",
    "page_break_tag": r"^\s*_ueditor_page_break_tag_\s*$",
    "headline_list": r"^\s*[·▪►◆■▶●]\s*\S",
    "time_stamp": r"^\s*(END\s+)?\d{1,2}:\d\d\s*[AaPp]\.?\s*[Mm]\.?(\s+[A-Z]{2,4})?\s*$",
    "end_mark": r"^\s*(\\?#{3}|-\s*30\s*-|[-–—(]?\s*END\s*[-–—)]?)\s*$",
    "photo_caption": r"^\s*/\d+\s",
    "translation_credit": r"^\s*(Translated|Edited|Translated and edited) by\b",
    "comment_form": (
        r"(?i)^\s*(\d+ Comment\(s\)|Adjust font size|Follow on Twitter|ChinaNews App|"
        r"Print E-mail|Go to Forum|No comments\.|Add your comments|•|Racist, abusive|"
        r"Send your stories)"
    ),
}

DEFAULT_OUTLETS: tuple[str, ...] = (
    "CCTV", "CGTN", "CNR", "CNBC", "CRNTT", "China Daily", "China News Service", "Xinhua",
    "Xinhua News Agency", "People's Daily", "Economic Daily", "Yicai", "Thecover.cn",
    "Red Star News", "Ta Kung Pao", "Asahi Shimbun", "Kyodo News", "NHK", "Reuters",
    "Bloomberg", "AFP", "Associated Press", "New York Times", "Wall Street Journal",
    "Financial Times", "Phoenix TV", "Hong Kong Commercial Daily", "The Paper",
    "Science and Technology Daily", "China Youth Daily", "Guangming Daily", "21st Century Business Herald",
    "Reporter", "Journalist", "Question", "Q",
)

DEFAULT_PROCEDURAL: tuple[str, ...] = (
    r"(?i)\b(invite|will have|have .{1,40} answer|give the floor|hand (it )?over|pass .{0,20}to)\b",
    r"(?i)\blet(?:'s| us| me)? .{0,40}\banswer\b",
    r"(?i)\bask .{0,40} to (answer|respond)\b",
)


class ScioConfig(Section):
    """Rules for SCIO web-page scrapes; every regex is named so dropped lines can say why."""

    boilerplate: dict[str, Regex] = Field(default_factory=lambda: dict(DEFAULT_BOILERPLATE))
    title_pattern: Regex = r"(?i)\b(SCIO|press conference|briefing)\b"
    moderator_title_pattern: Regex = (
        r"(?i)(Press Bureau|spokesperson of the (SCIO|State Council Information Office)|"
        r"SCIO spokesperson)"
    )
    outlets: tuple[str, ...] = DEFAULT_OUTLETS
    procedural_patterns: tuple[Regex, ...] = DEFAULT_PROCEDURAL
    procedural_max_words: int = Field(40, ge=1)
    max_label_words: int = Field(6, ge=1)

    @field_validator("title_pattern", "moderator_title_pattern")
    @classmethod
    def _regex(cls, value: str) -> str:
        return check_regex(value)

    @field_validator("boilerplate")
    @classmethod
    def _boilerplate(cls, value: dict[str, str]) -> dict[str, str]:
        for pattern in value.values():
            check_regex(pattern)
        return value

    @field_validator("procedural_patterns")
    @classmethod
    def _procedural(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            check_regex(pattern)
        return value


_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}
_MONTH = (
    r"(?P<month>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
# Both orders: "March 2, 2023" (month first) and "2 March 2023" or "2nd March, 2023" (day first,
# whose groups are prefixed "d_"; ``_date`` reads either).
_DAY_FIRST_MONTH = _MONTH.replace("?P<month>", "?P<d_month>")
_DAY_FIRST = r"\b(?P<d_day>\d{1,2})(?:st|nd|rd|th)?\s+" + _DAY_FIRST_MONTH
_FULL_DATE = re.compile(
    rf"(?:{_MONTH}\s+(?P<day>\d{{1,2}}),?\s+(?P<year>(?:19|20)\d\d)\b)"
    rf"|(?:{_DAY_FIRST},?\s+(?P<d_year>(?:19|20)\d\d)\b)")
_DAY_ONLY = re.compile(rf"\bon\s+(?:\w+day,?\s+)?(?:{_MONTH}\s+(?P<day>\d{{1,2}})\b|{_DAY_FIRST}\b)(?!,?\s*\d{{4}})")
_HELD = re.compile(r"(?i)\bheld\b.*\b(press conference|briefing)\b|\b(press conference|briefing)\b.*\bheld\b")
_DATELINE = re.compile(r"(?i)\d{1,2}(?::\d\d)?\s*[ap]\.m\.")
_HEADER_LABEL = re.compile(
    r"(?i)^\s*(?P<label>speakers?|chairperson|chair|moderator|date|guests?|attendees|participants)\s*:?\s*$")
# "Date: 2020-05-06", "Source: MFA": a header field with its value on the same line.
_FIELD_LINE = re.compile(
    r"(?i)^\s*(date|time|venue|location|place|source|editor|author|updated|published|released|url|link)\s*[:：]\s*\S")
# Site navigation ("Home > Press Room > Briefings"): never a title, never a conference's name.
_BREADCRUMB = re.compile(r"\S\s+[>»›]\s+\S|^\s*Home\s*[>»›|/]")
_NAME_WORD = r"[A-Z][A-Za-z'’-]+"
_SPEAKER_ENTRY = re.compile(
    r"^\s*(?:(?:Mr|Ms|Mrs|Madam|Dr)\.?\s+)?(?P<name>" + _NAME_WORD + r"(?:\s+" + _NAME_WORD
    + r"){1,3})\s*,\s+(?P<title>\S.*)$"
)
_LABEL = re.compile(r"^\s*(?P<name>[^\s:：][^:：]{0,79}?)\s*[:：]\s*$")
_INLINE_LABEL = re.compile(r"^\s*(?P<name>[^\s:：][^:：]{0,79}?)\s*[:：]\s*(?P<text>\S.*)$")
# "Q: ...", "Q    ...", "Q. ..." (not "A. Smith: ...", an initial before a label).
_QA_LABEL = re.compile(r"^\s*(?P<name>Q|A)(?:\s*[:：]\s*|\.\s+(?!\S+\s*[:：])|\s{2,}|\t\s*)(?P<text>\S.*)$")
# Page artifacts a scrape glues to the front of a label ("_ueditor_page_break_tag_Xiao Yaqing:").
# A Markdown list bullet before a bold label ("- **USEC. IGNACIO:** Thank you") is one too; before
# plain text ("- GDP: up 5%") it starts a list item of an answer.
_ARTIFACT_PREFIX = re.compile(r"^\s*(?:_ueditor_page_break_tag_\s*|[-*+]\s+(?=\*\*|__|<b>|<strong>))+")
# A Markdown block quote: its markers are not text, and a line of markers alone separates paragraphs.
_QUOTE_MARKERS = re.compile(r"^\s*>(?:\s*>)*\s?")
# Markdown or HTML emphasis around a label: "**SP Pimentel**: ...", "__Q__: ...", "**Q:** ...",
# "<b>Wang Wentao:</b> ...".
_EMPHASISED_LABEL = re.compile(
    r"^(?P<indent>\s*)(?P<open>\*\*|__|\*|_|<b>|<strong>)(?P<name>[^*_<>:：\n]{1,80}?)"
    r"(?:(?P<close_first>\*\*|__|\*|_|</b>|</strong>)\s*(?P<colon_after>[:：])|(?P<colon_in>[:：])\s*"
    r"(?P<close_after>\*\*|__|\*|_|</b>|</strong>))")
_CLOSING = {"**": "**", "__": "__", "*": "*", "_": "_", "<b>": "</b>", "<strong>": "</strong>"}
_FIELD_NAMES = re.compile(r"(?i)^(speakers?|chairperson|chair|date|time|venue|location|source|editor|tags?|url|link|"
                          r"https?)$")
# The official a title names: "Foreign Ministry Spokesperson Zhao Lijian's Regular Press
# Conference on May 6, 2020", "Press Briefing by Press Secretary Jen Psaki".
_TITLE_OFFICIAL = re.compile(
    r"\b(?:Spokesperson|Spokesman|Spokeswoman|Secretary|Minister|Director|Commissioner|Ambassador|Adviser|"
    r"Advisor|Coordinator)\s+(?P<name>[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,2}?)(?=['’]s\b|\s*,|\s+(?:and|on|at|of|for|"
    r"to|in)\b|\s*$)"
)
_NUMERIC_DATE_LINE = re.compile(
    r"^\s*(?P<year>(?:19|20)\d\d)[-/.](?P<month>\d{1,2})[-/.](?P<day>\d{1,2})(?:\s+\d{1,2}:\d\d(?::\d\d)?)?\s*$")
_NUMERIC_DATE = re.compile(r"(?P<year>(?:19|20)\d\d)[-/.](?P<month>\d{1,2})[-/.](?P<day>\d{1,2})\b")
_URL_LINE = re.compile(r"^\s*<?(?:https?://|www\.)\S+>?\s*$")
# When a scraper saved the page ("Date scraped: 2024-05-01", "Accessed May 1, 2024"): never its date.
_RETRIEVAL = re.compile(r"(?i)\b(?:scraped|retrieved|accessed|crawled|downloaded|fetched|captured|archived)\b")
# Markdown around header lines: a heading's marks and bold words ("# Title", "**Date:** May 6, 2020").
_MARKDOWN_HEADING = re.compile(r"^\s*#{1,6}\s+")
_MARKDOWN_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_URL_DATE = re.compile(r"/(?P<year>(?:19|20)\d\d)[/-](?P<month>\d\d)[/-](?P<day>\d\d)(?:/|\b)")
_LABEL_CONNECTORS = {"of", "and", "the", "for", "de", "du", "la", "&", "-"}
# A topic heading inside a statement ("On Russia: ...", "Finally: ...") is no speaker.
_NOT_FIRST_IN_LABEL = {"on", "in", "at", "as", "to", "by", "from", "with", "about", "regarding", "re", "note", "update",
                       "first", "second", "third", "finally", "also", "today", "now", "but", "so", "again", "next"}
_SENTENCE_END = re.compile(r"[.!?…:;\"”’')\]]\s*$")


def _unquoted(line: str) -> str:
    return _QUOTE_MARKERS.sub("", line, count=1)


def plain_header_line(line: str) -> str:
    """A header line as read for its title, fields and date, without its Markdown marks."""
    return _MARKDOWN_BOLD.sub(r"\2", _MARKDOWN_HEADING.sub("", _unquoted(line)))


def _is_blank(line: str) -> bool:
    return not line.strip()


def unwrap_label(line: str) -> str:
    """A line with the emphasis around its label removed ("**Q:** What" -> "Q: What"), the
    artifacts a scrape glues to its front too; other lines as they are."""
    line = _ARTIFACT_PREFIX.sub("", line)
    match = _EMPHASISED_LABEL.match(line)
    if not match or _CLOSING[match.group("open")] != (match.group("close_first") or match.group("close_after")):
        return line
    return f"{match.group('indent')}{match.group('name').strip()}:{line[match.end():]}"


def _label_name(name: str, max_words: int) -> str | None:
    """The speaker a label's name part names, or None when it reads as text: every word is
    capitalised (or a connector such as "of", or in a script without case), and there are
    at most ``max_words``. "The Paper" and "THE PRESIDENT" are labels; "the figures" is not.
    A name may carry its affiliation in brackets ("Pia Ranada (Rappler)") or after a slash
    ("JOSEPH MORONG/GMA7"), kept in the label."""
    if parts := affiliated(name.strip()):
        return clean_name(name) if _label_name(parts[0], max_words) else None
    words = name.split()
    if not words or len(words) > max_words:
        return None
    for word in words:
        if word.lower() in _LABEL_CONNECTORS:
            continue
        if not (word[0].isupper() or word[0].isdigit() or (word[0].isalpha() and not word[0].islower())):
            return None
    # "The Paper" and a surname's particle ("DE LIMA", "De Guzman") may lead; "of ..." may not.
    leading_article = (words[0].lower() in {"the", "de", "du", "la"} and words[0][0].isupper() and len(words) > 1
                       and not words[1][0].islower())
    if words[0].lower() in _LABEL_CONNECTORS and not leading_article or words[0].lower() in _NOT_FIRST_IN_LABEL:
        return None
    return clean_name(name)


# "Question:", "Answer:", "Q1:", "Question 2:" are Q and A labels in other words.
_QA_WORDS = re.compile(r"(?i)^(?:(?P<q>q|question)|a|answer)\s*\d{0,2}$")


def _as_qa(name: str) -> str:
    match = _QA_WORDS.match(name)
    return name if not match else "Q" if match.group("q") else "A"


def speaker_label(line: str, max_words: int) -> str | None:
    """The speaker named by a label line such as ``"Xiao Yaqing:\\u00a0"``, else None.

    A label is a short line ending in a colon whose words are all capitalised (or connectors
    such as "of"); "Here are some figures:" is text.
    """
    line = unwrap_label(line)
    match = _LABEL.match(line)
    if not match or _HEADER_LABEL.match(line):
        return None
    name = _label_name(match.group("name"), max_words)
    return name and _as_qa(name)


def inline_label(line: str, max_words: int) -> tuple[str, str] | None:
    """The label and the text of a line that starts with one ("MS. PSAKI:  Good afternoon.",
    "Q    What next?"), else None; whether the page takes it as a label is decided by the page."""
    line = unwrap_label(line)
    if match := _QA_LABEL.match(line):
        return match.group("name"), match.group("text").strip()
    match = _INLINE_LABEL.match(line)
    if not match or _FIELD_NAMES.match(match.group("name").strip()):
        return None
    if match.group("name")[-1:].isdigit() and match.group("text")[:1].isdigit():
        return None  # a time of day ("END 2:01 P.M."), a ratio, a verse number
    name = _label_name(match.group("name"), max_words)
    return (_as_qa(name), match.group("text").strip()) if name else None


def _date(match: re.Match[str]) -> dt.date | None:
    """The date a ``_FULL_DATE`` or ``_DAY_ONLY`` match states, in either order (year 1 when it has none)."""
    groups = match.groupdict()
    part = lambda name: groups.get(name) or groups.get(f"d_{name}")  # noqa: E731
    try:
        return dt.date(int(part("year") or 1), _MONTHS[part("month")[:3].lower()], int(part("day")))
    except ValueError:
        return None


@dataclass(frozen=True)
class PageDate:
    date: dt.date | None
    source: str


def page_date(header_lines: list[str], title: str = "") -> PageDate:
    """The conference date a page states, else its publication date; where lines state
    different dates, the first is taken. A line saying when the page was scraped or
    retrieved is never read.

    A standalone date line ("March 1, 2021", "2020-05-06 21:30"), a ``Date:`` field, a
    dateline with a time ("10 a.m. March 1, 2021") and a date in the title state the
    conference date; "held a press conference ... on
    March 1" (or a title "... on May 6") states its day, whose year is taken from the
    publication date, else from a date in a URL on the page (".../2020/05/06/..."). Any other
    full date is the publication date. A year alone ("in 2022" in a title) is never a date.
    """
    conference: dt.date | None = None
    day_only: dt.date | None = None
    published: dt.date | None = None
    in_url: dt.date | None = None
    for line in header_lines:
        text = line.strip()
        if _RETRIEVAL.search(text):
            continue
        full = list(_FULL_DATE.finditer(text))
        for match in full:
            date = _date(match)
            stated = (
                match.start() == 0 and match.end() >= len(text.rstrip(". "))
                or text.lower().startswith("date")
                or _DATELINE.search(text[: match.start()])
            )
            if date and stated and conference is None:
                conference = date
            elif date and not stated and published is None:
                published = date
        numeric = _NUMERIC_DATE_LINE.match(text) or (text.lower().startswith("date") and _NUMERIC_DATE.search(text))
        if conference is None and numeric:
            conference = _numeric_date(numeric)
        if day_only is None and _HELD.search(text):
            match = _DAY_ONLY.search(text)
            if match:
                day_only = _date(match)
        if in_url is None and (match := _URL_DATE.search(text)):
            in_url = _numeric_date(match)
    if conference is None and (match := _FULL_DATE.search(title)):
        conference = _date(match)
    if day_only is None and (match := _DAY_ONLY.search(title)):
        day_only = _date(match)
    if conference:
        return PageDate(conference, "conference_date")
    reference = published or in_url
    if day_only and reference:
        year = reference.year - (1 if (day_only.month, day_only.day) > (reference.month, reference.day) else 0)
        source = "publication_year" if published else "url_year"
        return PageDate(day_only.replace(year=year), f"conference_day_with_{source}")
    if published:
        return PageDate(published, "publication_date")
    if in_url:
        return PageDate(in_url, "url_date")
    return PageDate(None, "none")


def _date_of_page(own_lines: list[str], above_title: list[str], title: str) -> PageDate:
    """The date the page states from its title to its body, boilerplate included ("0
    Comment(s)Print E-mail, February 3, 2023" is the only date some pages give). Only when it
    states none are the lines above the title read (what a scraper put there: its metadata
    fields, or a site that prints its date first): a URL there dates as a URL does, any other
    date is ``above_title``, trusted less than a publication date."""
    own = page_date(own_lines, title)
    if own.date is not None:
        return own
    found = page_date(own_lines + above_title, title)
    if found.date is None or found.source in ("url_date", "conference_day_with_url_year"):
        return found
    return PageDate(found.date, "above_title")


def _numeric_date(match: re.Match[str]) -> dt.date | None:
    try:
        return dt.date(int(match.group("year")), int(match.group("month")), int(match.group("day")))
    except ValueError:
        return None


_LINE_BREAK = re.compile(r"\r\n?|\n")


def source_lines(text: str) -> list[str]:
    """The page's lines as the report numbers them: Unix, Windows and classic Mac line ends
    each end one, as Python's universal newlines (and an editor) read them."""
    return _LINE_BREAK.split(text)


# One Dropped per rule (and one Kept per paragraph): a page read in a worker process is pickled
# to this one, and pickle sends a shared instance once (unpickling the 327,000 line dispositions
# of 500 White House briefings: 0.85 -> 0.36 s).
_dropped = lru_cache(maxsize=None)(Dropped)


class _Lines:
    """The page's lines, 1-based, with their dispositions as they are decided."""

    def __init__(self, text: str) -> None:
        self.text = source_lines(text)
        self.dispositions: dict[int, Disposition] = {}

    def numbered(self) -> list[tuple[int, str]]:
        return [(n, line) for n, line in enumerate(self.text, 1) if not _is_blank(line)]

    def drop(self, number: int, rule: str) -> None:
        self.dispositions[number] = _dropped(rule)


def _boilerplate_rule(line: str, rules: dict[str, re.Pattern[str]]) -> str | None:
    for name, pattern in rules.items():
        if pattern.search(line):
            return name
    return None


@dataclass(frozen=True)
class FrontMatter:
    title: str = ""
    date: dt.date | None = None
    warning: str = ""


_ABOVE_FRONT_MATTER_WORDS = 8  # a longer line is text: a front matter cannot start below it


def _front_matter(lines: _Lines) -> FrontMatter:
    """A YAML block between ``---`` lines (Markdown exports) at the top of the file, or below
    what a scraper put above it (short lines: a URL, menu items), then naming a ``title`` or
    ``date``: its lines are dropped as ``front_matter`` and the lines above it as
    ``header:before_title``, its title and date kept. Anything else is no front matter."""
    import yaml

    start = next((i for i, line in enumerate(lines.text)
                  if line.strip() == "---" or len(line.split()) > _ABOVE_FRONT_MATTER_WORDS), None)
    if start is None or lines.text[start].strip() != "---":
        return FrontMatter()
    end = next((i for i in range(start + 1, len(lines.text)) if lines.text[i].strip() == "---"), None)
    if end is None:
        return FrontMatter()
    block = textwrap.dedent("\n".join(lines.text[start + 1:end])).split("\n")  # a page indented as a whole
    warning = ""
    try:
        fields = yaml.safe_load("\n".join(block))
    except yaml.YAMLError as exc:
        fields = _fields_line_by_line(block)
        problem = exc.problem if isinstance(exc, yaml.MarkedYAMLError) and exc.problem else type(exc).__name__
        warning = (f"front matter (lines {start + 1}-{end + 1}) is not valid YAML ({problem}): "
                   "its fields read line by line")
    if not isinstance(fields, dict) or start > 0 and not {"title", "date"} & set(fields):
        return FrontMatter()
    for number in range(1, end + 2):
        if not _is_blank(lines.text[number - 1]):
            lines.drop(number, "front_matter" if number > start else "header:before_title")
    date = fields.get("date")
    if isinstance(date, str):
        try:
            date = dt.date.fromisoformat(date[:10])
        except ValueError:
            date = None
    date = date.date() if isinstance(date, dt.datetime) else date
    title = " ".join(str(fields.get("title") or "").split())
    return FrontMatter(title, date if isinstance(date, dt.date) else None, warning)


_FRONT_MATTER_FIELD = re.compile(r"^(?P<key>[A-Za-z_][\w-]*):(?:\s+(?P<value>.*?))?\s*$")


def _fields_line_by_line(block: list[str]) -> dict[str, Any]:
    """The ``key: value`` lines of a front matter that is not valid YAML as a whole, as a
    scraper writes it when a title has an unescaped quote or ends in a backslash ("...
    Director\\"): each value read as YAML alone, else as written without its quotes."""
    import yaml

    joined: list[str] = []  # an indented line continues the value above it
    for line in block:
        if line[:1].isspace() and joined:
            joined[-1] = f"{joined[-1].rstrip()} {line.strip()}"
        else:
            joined.append(line)
    fields: dict[str, Any] = {}
    for line in joined:
        if not (match := _FRONT_MATTER_FIELD.match(line)) or match.group("key") in fields:
            continue
        value = match.group("value") or ""
        try:
            read = yaml.safe_load(value)
        except yaml.YAMLError:
            read = None
        if isinstance(read, (str, int, float, dt.date)) or not value:
            fields[match.group("key")] = read
        else:
            quote = value[0] if value[0] in "\"'" else ""
            inner = value[len(quote):].removesuffix(quote) if quote else value
            fields[match.group("key")] = inner.rstrip("\\").replace('\\"', '"').replace("\\_", " ")
    return fields


@dataclass(frozen=True)
class _LabelReading:
    """How one line reads as a label: alone on its line ("Xiao Yaqing:") and before its text
    ("Q    What next?"); found once per line, as three steps of the page ask."""
    alone: str | None
    inline: tuple[str, str] | None


def _label_readings(content: list[tuple[int, str, bool]], max_words: int) -> dict[int, _LabelReading]:
    return {number: _LabelReading(speaker_label(line, max_words), inline_label(line, max_words))
            for number, line, _ in content}


def _taken_labels(content: list[tuple[int, str, bool]], readings: dict[int, _LabelReading],
                  directory: SpeakerDirectory) -> set[str]:
    """The inline labels this page takes as labels (by ``name_key``): Q and A, a speaker or
    outlet the directory knows or the speaker list names, an outlet-like name, a name of the
    chair or of an office ("Moderator", "Secretary Kerry"), a label in capitals, a label of at most four words before a question, and any label the page uses
    at least twice."""
    listed = {name_key(m.group("name")) for _, line, _ in content if (m := _SPEAKER_ENTRY.match(line))}
    seen: dict[str, list[str]] = {}
    asking = set()
    for number, line, _ in content:
        found = readings[number].inline
        name = found[0] if found else readings[number].alone
        if name:
            seen.setdefault(name_key(name), []).append(name)
        if found and (len(found[0].split()) <= 4 and is_question(found[1]) or _EMPHASISED_LABEL.match(line)):
            asking.add(name_key(found[0]))  # a question's label, or one set in bold: a label
    taken = set(asking)
    for key, names in seen.items():
        if (key in {"q", "a"} or key in listed or directory.lookup(names[0]) or outlet_like(names[0])
                or names_a_role(names[0]) or in_capitals(names[0]) or len(names) >= 2):
            taken.add(key)
    # On a page of inline labels (three or more taken), a person's name used once is a label too:
    # two to four capitalised words, none a connector ("Gina McCarthy: Thank you.").
    if len(taken) >= 3:
        taken |= {key for key, names in seen.items() if 2 <= len(names[0].split()) <= 4
                  and all(word[0].isupper() and word.lower() not in _LABEL_CONNECTORS for word in names[0].split())}
    return taken


def _title_official(title: str, people: list[Person], directory: SpeakerDirectory) -> Person | None:
    """The official who answers on this page when only one does: the only official of the
    speaker list, else the one the title names ("Spokesperson Zhao Lijian's ...")."""
    officials = [person for person in people if person.role == "official"]
    if len(officials) == 1:
        return officials[0]
    if not officials and (match := _TITLE_OFFICIAL.search(title)):
        return directory.lookup(match.group("name")) or Person(clean_name(match.group("name")), "official")
    return None


def parse_scio_page(text: str, source_file: str, cfg: ScioConfig, directory: SpeakerDirectory) -> Page:
    """Parses one transcript page. Never raises on odd input: oddities become warnings."""
    lines = _Lines(text)
    front = _front_matter(lines)
    boilerplate = {name: re.compile(p) for name, p in cfg.boilerplate.items()}
    content: list[tuple[int, str, bool]] = []  # (line number, text, blank line before it)
    previous = 0
    for number, line in lines.numbered():
        if number in lines.dispositions:
            previous = number
            continue
        unquoted = _unquoted(line).strip()
        rule = _boilerplate_rule(line, boilerplate)
        if not rule and unquoted != line.strip():
            rule = _boilerplate_rule(unquoted, boilerplate)
        if rule:
            lines.drop(number, f"boilerplate:{rule}")
        elif not unquoted:
            lines.drop(number, "markdown_quote_marker")
            continue  # a blank line of the quote
        else:
            content.append((number, unquoted, number - previous > 1 or not content))
        previous = number

    plain = [(number, plain_header_line(line), blank) for number, line, blank in content]  # header lines as read
    dated_title = False
    if not front.title:
        start, dated_title = _header_start(plain, cfg, lines.text)
        for number, _, _ in content[:start]:
            lines.drop(number, "header:before_title")
        content, plain = content[start:], plain[start:]
    readings = _label_readings(content, cfg.max_label_words)
    taken = _taken_labels(content, readings, directory)
    body_start = _body_start(plain, cfg, taken, by_structure=bool(front.title))
    title, people, header_warnings = _parse_header(plain[:body_start], cfg, lines, front.title, dated_title)
    first_body_line = content[body_start][0] if body_start < len(content) else len(lines.text) + 1
    title_line = content[0][0] if content and not front.title else 1
    above_body = [(n, plain_header_line(line)) for n, line in lines.numbered() if n < first_body_line]
    dated = _date_of_page([line for n, line in above_body if n >= title_line],
                          [line for n, line in above_body if n < title_line], title)
    if front.date:
        dated = PageDate(front.date, "front_matter")

    footer = _footer_start(content, body_start, taken, readings)
    for number, _, _ in content[footer:]:
        lines.drop(number, "footer:after_body")
    turns = _segment(content[body_start:footer], readings, lines, taken)
    page_directory = directory.with_header(people)
    answerer = _title_official(title, people, page_directory)
    _attribute_to(answerer, turns)
    turns = _split_unlabelled_questions(turns, page_directory)
    rules = ProceduralRules.compile(cfg.procedural_patterns, cfg.procedural_max_words)
    unknown = assign_roles(turns, page_directory, rules)
    opens = bool(people or front.title or answerer) or opens_a_conference(turns)
    warnings = ([front.warning] if front.warning else []) + header_warnings + assign_kinds(
        turns, opens_conference=opens, rules=rules)
    if turns and turns[0].label is None and turns[0].role == "unknown":
        warnings.append(f"text before the first speaker label (lines {turns[0].paragraphs[0].line_start}"
                        f"-{turns[0].paragraphs[-1].line_end}) is attributed to no one")
    for turn_index, turn in enumerate(turns):
        for paragraph_index, paragraph in enumerate(turn.paragraphs):
            kept = Kept(turn_index, paragraph_index)
            for number in range(paragraph.line_start, paragraph.line_end + 1):
                if number not in lines.dispositions and not _is_blank(lines.text[number - 1]):
                    lines.dispositions[number] = kept
    return Page(source_file, title, dated.date, dated.source, turns, lines.dispositions, warnings, unknown,
                people=people)


_FULL_STOP = re.compile(r"[.!?。！？…][\"'”’)\]]*\s*$")  # a sentence's end ("Share:" ends none)
_COPYRIGHT = re.compile(r"(?i)©|\bcopyright\b|\ball rights reserved\b")
_FOOTER_LINES = 3  # fewer short lines at the end are the transcript's ("Thank you", "END")
_FOOTER_WORDS = 12


def _footer_start(content: list[tuple[int, str, bool]], body_start: int, taken: set[str],
                  readings: dict[int, _LabelReading]) -> int:
    """Where a site's footer starts in ``content`` (its length when there is none): the
    trailing run, below the body's start, of at least three lines that are each short (at most
    12 words), end no sentence and start with no label the page takes ("Related News",
    headlines, "Home | About Us | Sitemap", "Share:", "Facebook"), or that state a copyright,
    as a naive HTML-to-text dump keeps them below the transcript."""
    start = len(content)
    while start > body_start:
        number, line, _ = content[start - 1]
        found = readings[number].inline
        label = found[0] if found else readings[number].alone
        chrome = (len(line.split()) <= _FOOTER_WORDS and not _FULL_STOP.search(line)
                  and not (label and name_key(label) in taken))
        if not (chrome or _COPYRIGHT.search(line)):
            break
        start -= 1
    return start if len(content) - start >= _FOOTER_LINES else len(content)


def _attribute_to(answerer: Person | None, turns: list[Turn]) -> None:
    """Gives "A" turns, and an unlabelled opening that asks nothing, to the page's answering
    official, with the rule that says so (a curated list that knows the name still wins)."""
    if answerer is None:
        return
    for index, turn in enumerate(turns):
        if turn.label is not None and name_key(turn.label) == "a":
            rule = "inferred: A, the official the title or speaker list names"
        elif index == 0 and turn.label is None and not is_question(turn.paragraphs[-1].text):
            rule = "inferred: opening before the first label, by the official the title names"
        else:
            continue
        turn.label, turn.role, turn.role_source = answerer.name, "official", rule


def _is_title(line: str, title_pattern: re.Pattern[str]) -> bool:
    """A title names the event and is a phrase (3 to 30 words besides any date, no final
    period); "Ms. Name, deputy head of the Press Bureau of SCIO" is a speaker-list entry."""
    words = _FULL_DATE.sub("", line).split()
    return (
        bool(title_pattern.search(line)) and 3 <= len(words) <= 30
        and not line.rstrip().endswith(".") and not _SPEAKER_ENTRY.match(line) and not _BREADCRUMB.search(line)
        and not (_FULL_DATE.search(line) and _DATELINE.search(line))
    )


_PREAMBLE_WORDS = 30  # a line of more words is prose: the header cannot be below it
_TITLE_DATE_LINES = 3  # a title's date is on its line or one of the next few
_DATELINE_WORDS = 8
_TITLE_WORDS = 3  # a title has at least this many words besides its date


def _header_start(content: list[tuple[int, str, bool]], cfg: ScioConfig, text_lines: list[str]) -> tuple[int, bool]:
    """Index of the line the header starts with: the title, after whatever a scraper put above
    it (a URL line, source and metadata fields, a breadcrumb, a site's navigation menu, a
    language switcher). Only lines above the first line of the body (a speaker label, a
    question, a line of prose) are looked at, so a page that starts with its title, or with
    text, reads as before. The title is the first title-like line that is dated (a date on it
    or on one of the next lines of the page, boilerplate included), else the last title-like
    line: a menu's items ("Regular Press Conference") come before the page's own title. When no
    title-like line is dated, a dated line above the body is the title (True: the title is
    that line, though other lines have a title's words); else the line the page's URL names (True
    when it has no title's words), else the last."""
    title_pattern = re.compile(cfg.title_pattern)
    candidates = []
    above_body = list(_above_body(content, cfg))
    for index, _, line in above_body:
        if _is_title(line, title_pattern) and not _HELD.search(line):  # "SCIO held a press conference ..." is the intro
            candidates.append(index)
    if not candidates:  # no line has a title's words ("Press Gaggle by ...", "Background Press Call ...")
        return _dated_line(above_body, text_lines) or 0, False
    body_number = content[len(above_body)][0] if len(above_body) < len(content) else len(text_lines) + 1

    def dated(index: int) -> bool:
        """A date on the title line, or on the next lines above the body before another
        title-like line (an answer's "until 9:00 p.m." does not date the line above it)."""
        number = content[index][0]
        following = [line.strip() for line in text_lines[number:body_number - 1] if line.strip()][:_TITLE_DATE_LINES]
        cut = next((i for i, line in enumerate(following) if _is_title(line, title_pattern)), len(following))
        return any((_FULL_DATE.search(line) or _NUMERIC_DATE_LINE.match(line) or _is_time_line(line))
                   and not _RETRIEVAL.search(line) and (position == 0 or _dates_the_title_above(line))
                   for position, line in enumerate([content[index][1], *following[:cut]]))

    first_dated = next((i for i in candidates if dated(i)), None)
    if first_dated is not None:
        return first_dated, False
    # A title without a title's words among them, above or below ("Press Gaggle by ...", June
    # 16, 2023; then "The James S. Brady Press Briefing Room"; or a menu's "Regular Press
    # Conference" above "Background Press Call on ..., June 14, 2022"): the dated line is the title.
    dated_line = _dated_line(above_body, text_lines)
    if dated_line is not None:
        return dated_line, True
    named = _named_by_url(candidates, above_body)
    return named, named not in candidates


_URL = re.compile(r"https?://\S+")
_URL_NAMES = 0.5  # the least share of a line's words that the URL's slug must hold to name it


def _named_by_url(candidates: list[int], above_body: list[tuple[int, int, str]]) -> int:
    """The line above the body that a URL there names by its slug (".../on-the-record-press-
    gaggle-by-apnsa-jake-sullivan-on-.../" names "On-the-Record Press Gaggle by APNSA Jake
    Sullivan on ...", not the venue line "The James S. Brady Press Briefing Room" below it, which
    has a title's words), else the last title-like line."""
    slug: set[str] = set()
    for _, _, line in above_body:
        for url in _URL.findall(line):
            segments = [segment for segment in urlsplit(url).path.split("/") if segment]
            words = re.findall(r"[a-z]+", segments[-1].rsplit(".", 1)[0].lower()) if segments else []
            slug |= set(words) if len(words) >= _TITLE_WORDS else set()
    if not slug:
        return candidates[-1]

    def named(line: str) -> float:
        words = re.findall(r"[a-z]+", _FULL_DATE.sub("", line).lower())
        return sum(word in slug for word in words) / len(words) if words else 0.0

    shaped = [(index, line) for index, _, line in above_body if _shaped_like_a_title(line) and not _URL.search(line)]
    # reversed: of equal shares, the last
    best = max(reversed(shaped), key=lambda item: named(item[1]), default=(candidates[-1], ""))
    return best[0] if named(best[1]) >= _URL_NAMES else candidates[-1]


def _dates_the_title_above(line: str) -> bool:
    """A line below a title that dates it: a date line, a dateline, a field, the intro ("...
    held a press conference on March 1, 2021"), not a line with a title of its own."""
    return len(_words_besides_date(line)) < _TITLE_WORDS or bool(_HELD.search(line))


def _words_besides_date(line: str) -> list[str]:
    return [word for word in _FULL_DATE.sub("", line).split() if any(char.isalpha() for char in word)]


def _is_time_line(line: str) -> bool:
    """A dateline's time ("Beijing, 10 a.m."), not a sentence that names an hour ("embargoed until 12:00 p.m.")."""
    return bool(_DATELINE.search(line)) and len(line.split()) <= _DATELINE_WORDS


def _above_body(content: list[tuple[int, str, bool]], cfg: ScioConfig) -> Iterator[tuple[int, int, str]]:
    """(index, line number, text) of the lines above the first line of the body: a speaker
    label, a question or a line of prose ends the search for a header."""
    for index, (number, line, _) in enumerate(content):
        if speaker_label(line, cfg.max_label_words) or is_question(line) or len(line.split()) > _PREAMBLE_WORDS:
            return
        yield index, number, line


def _shaped_like_a_title(line: str) -> bool:
    """At least three words besides its date (so not a source's "China.org.cn | March 21,
    2023"), and not a URL, a field, a breadcrumb, a scrape date, the intro or a date line."""
    return not (len(_words_besides_date(line)) < _TITLE_WORDS or _URL_LINE.match(line) or _FIELD_LINE.match(line)
                or _BREADCRUMB.search(line) or _RETRIEVAL.search(line) or _HELD.search(line) or _is_date_line(line))


def _dated_line(above_body: list[tuple[int, int, str]], text_lines: list[str]) -> int | None:
    """The first line above the body shaped like a title that carries a full date or whose
    next line of the page is a date line."""
    for index, number, line in above_body:
        if not _shaped_like_a_title(line):
            continue
        following = plain_header_line(next((other.strip() for other in text_lines[number:] if other.strip()), ""))
        if _FULL_DATE.search(line) or _is_date_line(following):
            return index
    return None


def _is_date_line(text: str) -> bool:
    """A date and nothing else ("June 16, 2023", "2021-03-01 10:00"), or a ``Date:`` field holding one."""
    whole = _FULL_DATE.match(text)
    return bool(_NUMERIC_DATE_LINE.match(text) or whole and whole.end() >= len(text.rstrip(". "))
                or text.lower().startswith("date") and _FIELD_LINE.match(text)
                and (_FULL_DATE.search(text) or _NUMERIC_DATE.search(text)))


_TITLE_TAIL_WORDS = 12


def _title_tail(line: str) -> bool:
    """The rest of a title that a naive HTML-to-text dump put after a blank line ("SCIO briefing
    on development of industry", blank, "and information technology"): short, in lower case,
    no sentence."""
    return (line[:1].islower() and len(line.split()) <= _TITLE_TAIL_WORDS and not _SENTENCE_END.search(line)
            and not _FULL_DATE.search(line) and not _URL_LINE.match(line))


def _body_start(content: list[tuple[int, str, bool]], cfg: ScioConfig, taken: set[str], by_structure: bool) -> int:
    """Index of the first content line that opens the body.

    That is a speaker label or a question; without a title from front matter, also (after
    the title) a line that is none of the header's parts: a page may start with the tail of
    an answer begun on the previous page.
    """
    title_pattern = re.compile(cfg.title_pattern)
    title_seen = False
    title_end = -2  # index of the title's last line
    for index, (_, line, blank_before) in enumerate(content):
        inline = inline_label(line, cfg.max_label_words)
        if speaker_label(line, cfg.max_label_words) or is_question(line) or (inline and name_key(inline[0]) in taken):
            return index
        if by_structure:
            continue
        continues_title = title_seen and (not blank_before and line[:1].islower() and not _URL_LINE.match(line)
                                          or index == title_end + 1 and _title_tail(line))
        if continues_title and index == title_end + 1 or not title_seen and _is_title(line, title_pattern):
            title_end = index
        header_part = (
            title_pattern.search(line) or _HEADER_LABEL.match(line) or _SPEAKER_ENTRY.match(line)
            or _FULL_DATE.search(line) or _NUMERIC_DATE_LINE.match(line) or _URL_LINE.match(line)
            or _FIELD_LINE.match(line) or _BREADCRUMB.search(line) or continues_title
        )
        if title_seen and not header_part:
            return index
        title_seen = title_seen or _is_title(line, title_pattern)
    return len(content)


def _parse_header(
    header: list[tuple[int, str, bool]], cfg: ScioConfig, lines: _Lines, given_title: str = "",
    title_first: bool = False,
) -> tuple[str, list[Person], list[str]]:
    """Title (``given_title`` when the front matter gives one; the first line when
    ``title_first``), the people on the podium, and warnings; marks each header line's disposition."""
    title_pattern = re.compile(cfg.title_pattern)
    moderator_pattern = re.compile(cfg.moderator_title_pattern)
    title_at = None if given_title else 0 if title_first else next(
        (i for i, (_, line, _) in enumerate(header) if _is_title(line, title_pattern)), None)
    warnings: list[str] = []
    if title_at is None and not given_title:  # a Markdown heading is the title by structure
        title_at = next((i for i, (number, _, _) in enumerate(header)
                         if _MARKDOWN_HEADING.match(_unquoted(lines.text[number - 1]))), None)
    if title_at is None and not given_title:
        title_at = next((i for i, (_, line, _) in enumerate(header) if not _FULL_DATE.search(line)), None)
        if title_at is None:  # every header line is dated: the first with a title's words besides its date
            title_at = next((i for i, (_, line, _) in enumerate(header) if _shaped_like_a_title(line)), None)
        if header:
            warnings.append("no title line found; conference identity falls back on the first header line")
    title_parts: list[str] = []
    entries: list[tuple[str, str, str | None]] = []  # (name, title, group label)
    group: str | None = None
    labelled = False
    for index, (number, line, blank_before) in enumerate(header):
        if title_at is not None and index < title_at:
            lines.drop(number, "header:before_title")
        elif index == title_at or (
            title_parts and index == title_at + len(title_parts) and (not blank_before or _title_tail(line))
            and line[:1].islower() and not _FULL_DATE.search(line) and not _URL_LINE.match(line)
        ):
            title_parts.append(line)
            lines.drop(number, "header:title")
        elif match := _HEADER_LABEL.match(line):
            group = match.group("label").lower()
            labelled = labelled or group != "date"
            lines.drop(number, "header:field_label")
        elif match := _SPEAKER_ENTRY.match(line):
            entries.append((clean_name(match.group("name")), match.group("title").strip(), group))
            lines.drop(number, "header:speaker_list")
        elif _FULL_DATE.search(line) or _NUMERIC_DATE_LINE.match(line):
            lines.drop(number, "header:date")
        elif _URL_LINE.match(line):
            lines.drop(number, "header:url")
        elif _BREADCRUMB.search(line):
            lines.drop(number, "header:breadcrumb")
        elif _FIELD_LINE.match(line):
            lines.drop(number, "header:field")
        else:
            lines.drop(number, "header:intro")

    entries = list({name: (name, title, group) for name, title, group in entries}.values())  # a list given twice
    people: dict[str, Person] = {}
    for position, (name, speaker_title, group_label) in enumerate(entries):
        if labelled:
            is_chair = group_label in {"chairperson", "chair", "moderator"}
        else:
            # Unlabelled lists put the chairperson last; a SCIO press-bureau title also says so.
            is_chair = bool(moderator_pattern.search(speaker_title)) or (
                position == len(entries) - 1 and not any(moderator_pattern.search(t) for _, t, _ in entries)
            )
        people.setdefault(name, Person(name, "moderator" if is_chair else "official", speaker_title))
    return given_title or " ".join(title_parts), list(people.values()), warnings


def _segment(body: list[tuple[int, str, bool]], readings: dict[int, _LabelReading], lines: _Lines,
             taken: set[str]) -> list[Turn]:
    """Splits body lines into labelled turns of paragraphs (an unlabelled opening becomes a
    turn); an inline label's line is kept, its text opening the turn's first paragraph."""
    turns: list[Turn] = []
    paragraph_lines: list[tuple[int, str]] = []

    def close_paragraph() -> None:
        if paragraph_lines:
            if not turns:
                turns.append(Turn(None, [], speaker="unknown"))
            turns[-1].paragraphs.append(
                Paragraph(" ".join(t for _, t in paragraph_lines), paragraph_lines[0][0], paragraph_lines[-1][0])
            )
            paragraph_lines.clear()

    for number, line, blank_before in body:
        label = readings[number].alone
        if label:
            close_paragraph()
            turns.append(Turn(label, []))
            lines.drop(number, "speaker_label")
            continue
        inline = readings[number].inline
        if inline and name_key(inline[0]) in taken:
            close_paragraph()
            turns.append(Turn(inline[0], []))
            paragraph_lines.append((number, inline[1]))
            continue
        if blank_before or (paragraph_lines and _SENTENCE_END.search(paragraph_lines[-1][1])):
            close_paragraph()
        paragraph_lines.append((number, line))
    close_paragraph()
    return [turn for turn in turns if turn.paragraphs]


def _split_unlabelled_questions(turns: list[Turn], directory: SpeakerDirectory) -> list[Turn]:
    """Moves a question paragraph that an official answers next out of the turn before it.

    A page that starts mid-conference, or a scrape that lost a label, leaves a question glued
    to the end of the previous answer (or to nothing). It is a question from an unknown outlet.
    """
    result: list[Turn] = []
    for index, turn in enumerate(turns):
        following = turns[index + 1] if index + 1 < len(turns) else None
        answered = following is None or (
            following.label is not None
            and (person := directory.lookup(following.label)) is not None
            and person.role == "official"
        )
        speaker = directory.lookup(turn.label) if turn.label is not None else None
        podium = turn.label is None or (speaker is not None and speaker.role in {"official", "moderator"})
        if podium and answered and is_question(turn.paragraphs[-1].text):
            *before, question = turn.paragraphs
            result.append(Turn(turn.label, before, speaker=turn.speaker))
            result.append(Turn(None, [question], speaker="unknown", role="journalist", outlet="unknown",
                               role_source="inferred: unlabelled question an official answers"))
        else:
            result.append(turn)
    return [turn for turn in result if turn.paragraphs]


def read(source_file: str, data: bytes, context: ReaderContext, html: bool = False) -> list[Page] | SkippedFile:
    """One transcript page (a saved web page when ``html`` or named .html/.htm), or why it is
    skipped (undecodable, or no turn with a known role)."""
    text = decode_source(source_file, data)
    if isinstance(text, SkippedFile):
        return text
    marked_up = html or source_file.lower().removesuffix(".gz").endswith((".html", ".htm"))
    page = parse_scio_page(html_text(text) if marked_up else text, source_file, context.corpus.scio, context.directory)
    if marked_up and page.date_source in ("none", "above_title") and (dated := html_date(text)):
        page = replace(page, date=dated, date_source="html_metadata")
    if all(turn.role == "unknown" for turn in page.turns):
        if page.unknown_speakers:
            return SkippedFile(source_file, "no turn with a role: its labels (" + ", ".join(page.unknown_speakers[:5])
                               + ") are in no registry and neither ask nor answer (add them to the speakers registry)")
        return SkippedFile(source_file, "no recognisable turns (no speaker labels or questions)")
    return [page]


READER = register(Reader(name="scio", read=read))
HTML_READER = register(Reader(name="html", read=lambda source_file, data, context: read(source_file, data, context,
                                                                                          html=True)))
