"""Transcript layouts beyond the SCIO sample: inline labels (the real White House briefings in
data/other_layouts/), "Name: text" pages with outlet labels, Q:/A: pages, labels glued to page
artifacts, bilingual pages, saved web pages, and a folder mixing them all."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from types import SimpleNamespace

import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.ingest import build_corpus, conference_groups, share_speaker_lists
from pipeline.readers.html_text import html_text
from pipeline.readers.scio import read, source_lines
from pipeline.records import Dropped, SkippedFile
from tests.conftest import ROOT, TRANSCRIPTS, make_project


def run_cli(capsys, *args: str) -> SimpleNamespace:
    """The command run in this process (logging to stderr as from a terminal)."""
    code = main(list(args))
    captured = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=captured.out, stderr=captured.err)


WHITE_HOUSE = sorted((ROOT / "data" / "other_layouts" / "whitehouse").glob("*.md"))

FOREIGN_MINISTRY = """\
Home > Press and Media Service > Spokesperson's Remarks
Foreign Ministry Spokesperson Zhao Lijian's Regular Press Conference on May 6, 2020
2020-05-06 21:30

· Xi Jinping holds talks with the President of Kenya
· China's exports rise 8 percent in April

At the invitation of the government of Pakistan, State Councilor and Foreign Minister Wang Yi will
visit Pakistan from May 10 to 12.

The two sides will discuss cooperation on trade, health and infrastructure.

CCTV: Could you share more details about the visit?

Zhao Lijian: This visit is the first since the outbreak. Both sides attach great importance to it.

Reuters: Does China plan to respond to the sanctions announced yesterday?

Zhao Lijian: We have stated our position many times. China firmly opposes unilateral sanctions.

The Paper: What is China's view on the summit next week?

Zhao Lijian: China welcomes the summit and hopes it will produce results.

Zhang Wei: A follow-up question. When will the talks resume?

Zhao Lijian: I have no information to offer at the moment.
"""

QUESTION_ANSWER = """\
Regular Press Conference of Foreign Ministry Spokesperson Hua Chunying on March 2
https://www.fmprc.gov.cn/eng/xwfw/s2510/2021/03/02/t1857548.shtml

Q: The report was released today. What is your comment?
A: We have noted the report. China supports science-based cooperation.
Q: Will China send a delegation to the summit?
A: I have nothing to announce at the moment. Please stay tuned.
Q    Some say the measures are too strict. How do you respond?
A: The measures are lawful and necessary.
"""

BILINGUAL = """\
SCIO press conference on industry and information technology
March 1, 2021

Xiao Yaqing:
Industry grew steadily last year and the supply chain held.

CCTV:
What about chips?
_ueditor_page_break_tag_Xiao Yaqing: We will support chips and the supply chain.
肖亚庆：我们将支持芯片产业和供应链。

Reuters: And what about 5G?

Xiao Yaqing: We will build more 5G base stations this year.
肖亚庆：我们今年将建设更多5G基站。
"""

SAVED_PAGE = """\
<!DOCTYPE html><html><head><title>Press Briefing by Press Secretary Jen Psaki, March 3, 2021</title>
<script>var banner = "Q: not a question";</script><style>p { color: black; }</style></head>
<body><nav><a href="/">Home</a> | <a href="/briefings">Briefing Room</a></nav>
<header>The White House</header>
<main><h1>Press Briefing by Press Secretary Jen Psaki, March 3, 2021</h1>
<p>James S. Brady Press Briefing Room</p>
<p>12:45 P.M. EST</p>
<p><strong>MS. PSAKI:</strong>&nbsp; Good afternoon. Today we have an update on vaccines.<br>
Three vaccines are now authorised for adults.</p>
<p>Q&nbsp;&nbsp;&nbsp; Thanks, Jen. When will every adult be eligible?</p>
<p>MS. PSAKI:&nbsp; By the end of May, as the President said last week.</p>
<p>Q&nbsp;&nbsp;&nbsp; And schools?</p>
<p>MS. PSAKI:&nbsp; Schools should reopen safely, with the funding the plan provides.</p>
</main><footer>Privacy policy</footer></body></html>
"""


def page_of(context, name: str, text: str):
    pages = read(name, text.encode("utf-8"), context)
    assert not isinstance(pages, SkippedFile), pages
    return pages[0]


def accounted(page, text: str) -> None:
    assert set(page.lines) == {n for n, line in enumerate(source_lines(text), 1) if line.strip()}


def test_white_house_briefings_give_briefers_as_officials_and_q_as_questions(context):
    officials = {}
    for path in WHITE_HOUSE:
        text = path.read_text(encoding="utf-8")
        page = page_of(context, path.name, text)
        accounted(page, text)
        assert page.date == dt.date.fromisoformat(path.name[:10]) and page.date_source == "front_matter"
        assert page.title.startswith("Press Briefing by ")
        assert not [t for t in page.turns if t.role == "unknown"] and not page.unknown_speakers
        assert all(t.role == "journalist" and t.kind == "question" for t in page.turns if t.speaker == "Q")
        assert page.turns[0].kind == "statement" and page.turns[0].role == "official"
        assert not [t for t in page.turns if t.speaker.startswith(("End ", "On "))]  # "END 2:01 P.M.", "On Russia:"
        officials[path.name[:10]] = {t.speaker for t in page.turns if t.role == "official"}
        kinds = Counter(t.kind for t in page.turns if t.role == "official")
        assert kinds["answer"] > 5 * kinds["procedural"]
    assert officials == {
        "2021-01-20": {"Psaki"},
        "2021-06-08": {"Acting Administrator Slavitt", "Fauci", "Walensky", "Nunez-Smith"},
        "2022-02-09": {"Psaki"},
        "2022-09-16": {"Jean-Pierre", "Kirby"},
        "2023-10-31": {"Jean-Pierre", "Kirby"},
        # "THE PRESIDNET" is the transcript's own misspelling, kept as written.
        "2024-10-04": {"Jean-Pierre", "The President", "The Presidnet", "Brainard"},
    }
    corpus = build_corpus([page_of(context, p.name, p.read_text(encoding="utf-8")) for p in WHITE_HOUSE])
    assert len(corpus.conferences) == 6 and corpus.conferences.date.tolist() == sorted(p.name[:10] for p in WHITE_HOUSE)
    moderators = corpus.turns[corpus.turns.role == "moderator"]
    assert set(moderators.speaker) == {"Moderator", "Aide"}
    assert moderators.groupby("speaker").role_source.unique().map(list).to_dict() == {
        "Moderator": ["inferred: label names the chair"], "Aide": ["inferred: gives the floor"]}
    assert set(corpus.turns[corpus.turns.speaker == "Acting Administrator Slavitt"].role_source) == {
        "inferred: label names an office"}


@pytest.mark.parametrize("above", ["URL: https://www.whitehouse.gov/briefing-room/press-briefings/\n", "\n",
                                   "Home\nBriefing Room\nPress Briefings\n\n"])
def test_a_front_matter_below_a_scrapers_lines_is_still_the_front_matter(context, above):
    # Before: one line above the "---" lost the front matter: the title became "James S. Brady
    # Press Briefing Room" (or a line of YAML) and on two pages the turns changed.
    def read_as(text):
        page = page_of(context, "page.md", text)
        return page.title, page.date, page.date_source, [(t.speaker, t.role, t.kind) for t in page.turns]

    for path in WHITE_HOUSE:
        text = path.read_text(encoding="utf-8")
        page = page_of(context, "page.md", above + text)
        accounted(page, above + text)
        assert read_as(above + text) == read_as(text)
        assert all(page.lines[n] == Dropped("header:before_title") for n in range(1, above.count("\n") + 1)
                   if n in page.lines)


@pytest.mark.parametrize(("title_line", "title"), [
    # a title cut short after a YAML escape, as 732 of the bench's 1,152 titles are
    ('title: "Press Briefing by Press Secretary Jen\\_Psaki and National Economic Director\\"',
     "Press Briefing by Press Secretary Jen Psaki and National Economic Director"),
    ('title: "Press Briefing on the "Build Back Better" Agenda"', 'Press Briefing on the "Build Back Better" Agenda'),
    ("title: Press Briefing: the President's Agenda", "Press Briefing: the President's Agenda"),
])
def test_a_front_matter_that_is_not_valid_yaml_still_gives_its_title_and_date(context, title_line, title):
    # Before: a front matter YAML could not parse was no front matter at all, and the title
    # became "James S. Brady Press Briefing Room", the venue line below it.
    def read_as(text):
        page = page_of(context, "page.md", text)
        return page.date, page.date_source, [(t.speaker, t.role, t.kind) for t in page.turns]

    for path in WHITE_HOUSE:
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        start = next(i for i, line in enumerate(lines) if line.startswith("title:"))
        end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith(" "))  # a wrapped title's end
        lines[start:end] = [title_line]
        broken = "\n".join(lines)
        page = page_of(context, "page.md", broken)
        accounted(page, broken)
        assert page.title == title and read_as(broken) == read_as(text)
        assert page.warnings[0].startswith(f"front matter (lines 1-{lines[1:].index('---') + 2}) is not valid YAML")
        assert {page.lines[n] for n in range(1, lines[1:].index("---") + 3) if n in page.lines} == {
            Dropped("front_matter")}


def _block_quoted(text: str) -> str:
    """The page below its front matter as a Markdown block quote, blank lines as ">"."""
    lines = text.split("\n")
    start = lines[1:].index("---") + 2 if lines[0] == "---" else 0
    return "\n".join(lines[:start] + [f"> {line}" if line.strip() else ">" for line in lines[start:]])


@pytest.mark.parametrize("saved_as", [
    lambda text: text.replace("\n", "\r\n"),  # Windows
    lambda text: text.replace("\n", "\r"),  # classic Mac, as some HTML-to-text tools still write
    lambda text: "\ufeff" + text,
    lambda text: "\n".join(f"{line}  " for line in text.split("\n")),
    lambda text: "\n".join(f"\t{line}" if line.strip() else line for line in text.split("\n")),  # indented as a whole
    lambda text: text.replace("\n\n", "\n\n\n"),
    _block_quoted,
], ids=["crlf", "cr", "bom", "trailing-spaces", "tab-indented", "extra-blank-lines", "block-quoted"])
def test_how_a_page_was_saved_does_not_change_its_reading(context, saved_as):
    # Before: a page with classic Mac line ends was skipped as having no turns, and a White
    # House page indented as a whole lost its front matter (title "James S. Brady Press Briefing Room"),
    # and a page in a Markdown block quote was one turn.
    def read_as(text):
        page = page_of(context, "page.md", text)
        return page.title, page.date, page.date_source, [(t.speaker, t.role, t.kind, [p.text for p in t.paragraphs])
                                                         for t in page.turns]

    for path in sorted(TRANSCRIPTS.glob("*.txt")) + WHITE_HOUSE:
        text = path.read_text(encoding="utf-8")
        assert read_as(saved_as(text)) == read_as(text), path.name


GAGGLE_POST = """\
# Press Gaggle by Press Secretary Jen Psaki, April 19, 2022

**Date:** April 19, 2022

> **MS. PSAKI:** Welcome to our trip to New Hampshire. I will keep this brief today.
>
> **Q:** Will the President speak about gas prices in Portsmouth this afternoon?
>
> **MS. PSAKI:** He will talk about the infrastructure law and what it means for bridges and roads.
"""


@pytest.mark.parametrize("mark", ["END", "\\###", "###", "-30-", "- END -", "(END)"])
def test_a_transcripts_end_mark_is_no_part_of_the_last_turn(context, mark):
    # Before: "END" below a White House transcript, and "###" below a press release, were the
    # last paragraph of the last answer.
    def read_as(text):
        page = page_of(context, "page.md", text)
        return [(t.speaker, [p.text for p in t.paragraphs]) for t in page.turns], page

    for path in [*sorted(TRANSCRIPTS.glob("*.txt"))[1:2], *WHITE_HOUSE]:
        text = path.read_text(encoding="utf-8").rstrip("\n")
        marked = f"{text}\n\n{mark}\n"
        (turns, _), (marked_turns, page) = read_as(text), read_as(marked)
        assert marked_turns == turns, path.name
        assert page.lines[max(page.lines)] == Dropped("boilerplate:end_mark")
    said = "The plan has no END date yet, and it will not END before the talks do."
    turns, _ = read_as(f"MS. PSAKI:  Good afternoon.\n\nQ:  When?\n\nMS. PSAKI:  {said}\n")
    assert turns[-1][1] == [said]



def test_a_markdown_heading_is_the_title_even_without_a_titles_words_and_with_a_date(context):
    # Before: "Press Gaggle" is none of the title pattern's words and every header line is dated,
    # so the page had no title (conference "2022-04-19-untitled").
    page = page_of(context, "gaggle.md", GAGGLE_POST)
    accounted(page, GAGGLE_POST)
    assert page.title == "Press Gaggle by Press Secretary Jen Psaki, April 19, 2022"
    assert (page.date, not page.warnings) == (dt.date(2022, 4, 19), True)
    assert [(t.speaker, t.role) for t in page.turns] == [("Psaki", "official"), ("Q", "journalist"),
                                                         ("Psaki", "official")]
    untitled = GAGGLE_POST.replace("# Press", "Press")  # no heading: the dated line with a title's words
    assert page_of(context, "gaggle.txt", untitled).title == page.title


def test_name_colon_text_page_with_outlets_and_an_unlabelled_opening_announcement(context):
    page = page_of(context, "mfa.txt", FOREIGN_MINISTRY)
    accounted(page, FOREIGN_MINISTRY)
    assert page.title == "Foreign Ministry Spokesperson Zhao Lijian's Regular Press Conference on May 6, 2020"
    assert (page.date, page.date_source) == (dt.date(2020, 5, 6), "conference_date")
    assert [(t.speaker, t.role, t.kind) for t in page.turns] == [
        ("Zhao Lijian", "official", "statement"),
        ("CCTV", "journalist", "question"), ("Zhao Lijian", "official", "answer"),
        ("Reuters", "journalist", "question"), ("Zhao Lijian", "official", "answer"),
        ("The Paper", "journalist", "question"), ("Zhao Lijian", "official", "answer"),
        ("Zhang Wei", "journalist", "question"), ("Zhao Lijian", "official", "answer"),
    ]
    assert len(page.turns[0].paragraphs) == 2  # the announcement, kept as a statement
    assert page.turns[0].role_source.startswith("inferred: opening before the first label")
    assert [t.role_source for t in page.turns[1:4]] == ["outlet_list", "inferred: answers questions", "outlet_list"]
    assert page.turns[7].role_source == "inferred: asks questions"
    assert page.lines[1].rule == "header:before_title"  # the breadcrumb never names the conference
    assert page.lines[5].rule == page.lines[6].rule == "boilerplate:headline_list"


def test_question_answer_page_gives_every_answer_to_the_official_in_its_title(context):
    page = page_of(context, "qa.txt", QUESTION_ANSWER)
    accounted(page, QUESTION_ANSWER)
    assert [(t.speaker, t.role, t.kind) for t in page.turns] == [("Q", "journalist", "question"),
                                                                 ("Hua Chunying", "official", "answer")] * 3
    assert {t.role_source for t in page.turns if t.role == "official"} == {
        "inferred: A, the official the title or speaker list names"}
    # The title gives the day, the URL the year.
    assert (page.date, page.date_source) == (dt.date(2021, 3, 2), "conference_day_with_url_year")
    assert page.lines[2].rule == "header:url"
    assert page.turns[1].paragraphs[0].text == "We have noted the report. China supports science-based cooperation."


def test_labels_glued_to_page_artifacts_and_chinese_script_labels(context):
    page = page_of(context, "bilingual.txt", BILINGUAL)
    accounted(page, BILINGUAL)
    # No speaker list: the page may be an inner page, so the first turn is an answer (with a warning).
    assert [(t.speaker, t.kind) for t in page.turns] == [
        ("Xiao Yaqing", "answer"), ("CCTV", "question"), ("Xiao Yaqing", "answer"), ("Xiao Yaqing", "answer"),
        ("Reuters", "question"), ("Xiao Yaqing", "answer"), ("Xiao Yaqing", "answer")]
    corpus = build_corpus([page])
    langs = corpus.paragraphs.set_index("text").lang
    assert langs["We will support chips and the supply chain."] == "en"
    assert langs["我们将支持芯片产业和供应链。"] == "zh"
    assert (corpus.paragraphs.lang == "zh").sum() == 2


def test_a_saved_web_page_is_read_as_its_text_with_every_line_accounted_for(context):
    page = page_of(context, "briefing.html", SAVED_PAGE)
    text = html_text(SAVED_PAGE)
    accounted(page, text)
    assert "Home" not in text and "banner" not in text and "Privacy" not in text and "color" not in text
    assert page.title == "Press Briefing by Press Secretary Jen Psaki, March 3, 2021"
    assert (page.date, page.date_source) == (dt.date(2021, 3, 3), "conference_date")
    assert [(t.speaker, t.role, t.kind) for t in page.turns] == [
        ("Psaki", "official", "statement"), ("Q", "journalist", "question"), ("Psaki", "official", "answer"),
        ("Q", "journalist", "question"), ("Psaki", "official", "answer")]
    # <br> is a line break: after a full sentence it ends the paragraph, as in a text file.
    assert [p.text for p in page.turns[0].paragraphs] == ["Good afternoon. Today we have an update on vaccines.",
                                                          "Three vaccines are now authorised for adults."]


def test_a_folder_mixing_layouts_gives_one_conference_per_briefing_and_a_short_warning_summary(tmp_path, capsys):
    project = make_project(tmp_path)
    mixed = project / "data" / "mixed"
    mixed.mkdir()
    for path in WHITE_HOUSE:
        (mixed / path.name).write_bytes(path.read_bytes())
    (mixed / "mfa.txt").write_text(FOREIGN_MINISTRY, encoding="utf-8")
    (mixed / "qa.txt").write_text(QUESTION_ANSWER, encoding="utf-8")
    (mixed / "bilingual.txt").write_text(BILINGUAL, encoding="utf-8")
    (mixed / "briefing.html").write_text(SAVED_PAGE, encoding="utf-8")
    for n in range(25):  # an aggregator's pages: prose with no speaker at all
        (mixed / f"digest_{n:02d}.txt").write_text(f"Industry news digest {n}\n\nOutput rose in March.\n",
                                                   encoding="utf-8")
    (mixed / "latin1.txt").write_bytes("Caf\xe9 briefing".encode("latin-1"))
    result = run_cli(capsys, "ingest", str(project / "configs" / "default.yaml"), "--set",
                     "corpus.inputs=[data/transcripts/*.txt, data/mixed/*.md, data/mixed/*.txt, data/mixed/*.html]",
                     "--set", "run.name=mixed")
    assert result.returncode == 0, result.stderr

    corpus = project / "outputs" / "mixed" / "corpus"
    conferences = pd.read_csv(corpus / "conferences.csv", keep_default_na=False)
    turns = pd.read_csv(corpus / "turns.csv", keep_default_na=False)
    # 4 SCIO conferences (two pages of one), 6 White House briefings, 4 written above.
    assert len(conferences) == 14, conferences.title.tolist()
    assert (turns.role == "unknown").sum() == 0
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line or line.startswith("  ")]
    assert 1 <= len(warnings) <= 15, result.stderr
    assert "ingest warnings of" in result.stderr
    assert "25 x file skipped: no recognisable turns" in result.stderr
    assert "paragraphs in other languages (zh 2" in result.stderr, result.stderr
    assert "1 x file skipped: not UTF-8; re-save it as UTF-8" in result.stderr


UNDATED = """\
Regular briefing of the Ministry of Commerce
Gao Feng: Good afternoon. Exports of electric vehicles rose again in the last quarter.
Xinhua: What is the outlook for the coming months?
Gao Feng: We expect trade to stay stable in the coming months, supported by new policies for foreign trade and by\nsteady demand for electric vehicles, batteries and solar cells.
"""

CYRILLIC = """\
Брифинг официального представителя
Мария Захарова: Добрый день. Начнём с международной повестки.
ТАСС: Что вы скажете о переговорах?
Мария Захарова: Переговоры продолжаются в рабочем порядке.
"""


def test_an_undated_conference_a_page_in_another_language_and_an_absent_official_are_reported(tmp_path, capsys):
    project = make_project(tmp_path)
    (project / "data" / "transcripts" / "commerce.txt").write_text(UNDATED, encoding="utf-8")
    (project / "data" / "transcripts" / "cyrillic.txt").write_text(CYRILLIC, encoding="utf-8")

    def validate(*overrides):
        sets = [arg for override in overrides for arg in ("--set", override)]
        return run_cli(capsys, "validate", str(project / "configs" / "default.yaml"), *sets)

    checked = validate()
    assert checked.returncode == 0, checked.stderr
    assert "has no date" in checked.stderr and "left out of comparisons by year" in checked.stderr
    assert "other languages (ru " in checked.stderr and "not modelled" in checked.stderr
    assert "7 files parsed" in checked.stdout
    absent = validate("compare.contrasts={x: {speaker: [Xiao Yaqing, Li Qiang]}}")
    assert absent.returncode == 2 and "Traceback" not in absent.stderr
    assert absent.stderr.splitlines()[-1] == ("error: compare.contrasts.x: speaker has no value 'Li Qiang' (known: "
                                              "Gao Feng, Jin Zhuanglong, Tao Qing, Tian Yulong, Xiao Yaqing)")


FIRST_PAGE = """\
Home > Press Room > Briefings
SCIO press conference on the digital economy
Beijing | 10 a.m. June 8, 2021
Speakers:
Mr. Wang Wu, vice minister of commerce
Chairperson:
Ms. Li Hua, deputy head of the Press Bureau of SCIO
Speakers:
Mr. Wang Wu, vice minister of commerce
Chairperson:
Ms. Li Hua, deputy head of the Press Bureau of SCIO

Li Hua:
Good morning. Vice Minister Wang will brief you first.
Wang Wu:
The digital economy grew by ten percent last year, and services trade online doubled.
"""

SECOND_PAGE = """\
SCIO press conference on the digital economy
China.org.cn | June 10, 2021
Li Hua:
Next question, please.
Caixin:
How will small firms benefit?
Wang Wu:
Small firms will pay lower fees on the new platforms from July.
"""


def test_pages_of_one_conference_share_its_speaker_list_title_and_date(context):
    first, second = page_of(context, "p1.txt", FIRST_PAGE), page_of(context, "p2.txt", SECOND_PAGE)
    assert first.title == second.title == "SCIO press conference on the digital economy"  # not the breadcrumb
    # The list given twice still puts the chairperson last; "Ms. Li Hua, ... of SCIO" is no title.
    assert [(p.name, p.role) for p in first.people] == [("Wang Wu", "official"), ("Li Hua", "moderator")]
    assert (second.date, second.date_source) == (dt.date(2021, 6, 10), "publication_date")
    share_speaker_lists(conference_groups([first, second]), context.directory, context.rules)
    corpus = build_corpus([first, second])
    assert corpus.conferences[["date", "source_files"]].values.tolist() == [["2021-06-08", "p1.txt;p2.txt"]]
    # A page of the same day and speaker list whose title was cut short is the same conference.
    third = page_of(context, "p3.txt", FIRST_PAGE.replace("on the digital economy", "on the digital"))
    # A numbered sub-page title is the conference's title.
    fourth = page_of(context, "p4.txt", SECOND_PAGE.replace("digital economy\n", "digital economy (2)\n"))
    assert [len(group) for group in conference_groups([first, second, third, fourth])] == [4]
    turns = corpus.turns[corpus.turns.source_file == "p2.txt"]
    assert turns[["speaker", "role", "kind"]].values.tolist() == [
        ["Li Hua", "moderator", "procedural"], ["Caixin", "journalist", "question"], ["Wang Wu", "official", "answer"]]
    assert turns.role_source.tolist() == ["header of another page", "inferred: asks questions", "header of another page"]


def test_a_header_that_never_says_press_conference_keeps_its_speaker_list(context):
    text = ("Promoting the high-quality development of manufacturing\nMarch 5, 2024\nSpeakers:\n"
            "Mr. Wang Wu, vice minister of industry and information technology\nChairperson:\n"
            "Ms. Li Hua, deputy head of the Press Bureau of SCIO\n\nLi Hua:\nGood morning. Minister Wang first.\n"
            "Wang Wu:\nManufacturing grew by six percent last year.\nCCTV:\nWhat comes next?\nWang Wu:\nMore chips.\n")
    page = page_of(context, "untitled.txt", text)
    assert page.title == "Promoting the high-quality development of manufacturing"
    assert [(p.name, p.role) for p in page.people] == [("Wang Wu", "official"), ("Li Hua", "moderator")]
    assert [(t.speaker, t.role, t.kind) for t in page.turns] == [
        ("Li Hua", "moderator", "procedural"), ("Wang Wu", "official", "statement"),
        ("CCTV", "journalist", "question"), ("Wang Wu", "official", "answer")]
    assert {page.lines[n].rule for n in (4, 6)} == {"header:speaker_list"}


def test_paragraph_languages_come_from_a_model_not_the_alphabet():
    from pipeline.language import paragraph_language

    # Latin script, three languages: the alphabet said "en" for all of them.
    assert paragraph_language("We will pass the budget before the recess, as we did last year.") == "en"
    assert paragraph_language("Ipapasa namin ang badyet bago mag-recess, gaya ng ginawa namin noong "
                              "nakaraang taon.") == "tl"
    assert paragraph_language("Nous adopterons le budget avant les vacances, comme l'année dernière.") == "fr"
    assert paragraph_language("我们将支持芯片产业和供应链。") == "zh"
    assert paragraph_language("OK.") == "und" and paragraph_language("2021") == "und"  # too short, no letters
    # Four words: the model is 87% sure this is French.
    assert paragraph_language("Wait, wait, wait, wait.") == "und"
    # The model is 39% sure of Tagalog (its neighbours share the rest): a long paragraph takes
    # the first guess, where a floor would call it und and model it with the English.
    assert paragraph_language("Wala pa po kaming natatanggap na opisyal na abiso mula sa embahada, pero "
                              "makikipag-ugnayan po kami agad. Maraming salamat po, Secretary Roque. Magandang "
                              "tanghali po sa ating mga kasama sa Malacañang Press Corps.") == "tl"


MENU_ITEMS = "".join(f'<li><a href="/m{i}">{name}</a></li>' for i, name in enumerate(
    ["Home", "The Ministry", "Minister", "Vice Ministers", "Spokesperson's Remarks", "Regular Press Conference",
     "Press Releases", "Diplomatic Activities", "Countries and Regions", "International Organizations"] * 3))
MINISTRY_2023 = f"""<!DOCTYPE html><html><head>
<title>Foreign Ministry Spokesperson's Regular Press Conference</title>
<meta name="PubDate" content="2023-05-06 19:30:00">
</head><body>
<div class="top-menu"><ul>{MENU_ITEMS}</ul></div>
<div id="breadcrumb"><a href="/">Home</a> &gt; <a href="/s">Spokesperson's Remarks</a></div>
<div class="langSwitch"><a href="/zh">中文</a> <a href="/fr">Français</a> <a href="/es">Español</a></div>
<div class="content">
<h1>Foreign Ministry Spokesperson's Regular Press Conference</h1>
<p>Mao Ning: Good afternoon. I have no announcement to make today.</p>
<p>CCTV: What is China's comment on the trade talks?</p>
<p>Mao Ning: The talks were candid and constructive, and both sides agreed to keep in touch.</p>
<div class="related"><a href="/a">Press conference of May 5</a> <a href="/b">Press conference of May 4</a>
<a href="/c">Press conference of May 3</a></div>
</div>
<div class="footer-links"><a href="/p">Privacy</a> <a href="/c">Contact</a> <a href="/s">Sitemap</a></div>
</body></html>"""


COMMERCE_2023 = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Transcript of MOFCOM regular press conference on June 8, 2023 - Ministry of Commerce</title>
<meta name="publishdate" content="2023-06-09">
</head><body>
<div class="header"><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/press">Press Conferences</a></li><li><a href="/policies">Policies</a></li><li><a href="/about">About MOFCOM</a></li></ul></div>
<div class="breadcrumb">Home &gt; News &gt; Press Conferences</div>
<div class="article">
<h2>Transcript of MOFCOM regular press conference on June 8, 2023</h2>
<div class="info">Source: MOFCOM | Updated: 2023-06-09 10:15</div>
<p><strong>Shu Jueting:</strong> Good afternoon, friends from the media. Welcome to the regular press conference of the Ministry of Commerce. Today I have no announcement to make, and I am ready to take your questions.</p>
<p><strong>Reuters:</strong> What is the ministry's view of the new export controls announced by the Netherlands last week?</p>
<p><strong>Shu Jueting:</strong> We have noted the announcement. China firmly opposes the abuse of export control measures, which seriously undermine the stability of global industrial and supply chains.</p>
<p><strong>Xinhua News Agency:</strong> How did foreign trade perform in May?</p>
<p><strong>Shu Jueting:</strong> In May, China's imports and exports grew by 0.5 percent year on year, and exports to ASEAN countries rose faster than the total, supported by regional trade agreements.</p>
</div>
<div class="related"><h3>Related</h3><ul><li><a href="/a">MOFCOM regular press conference on June 1, 2023</a></li><li><a href="/b">MOFCOM regular press conference on May 25, 2023</a></li></ul></div>
<div class="footer">Copyright © Ministry of Commerce of the People's Republic of China. All rights reserved.</div>
</body></html>"""


def test_another_ministrys_page_its_title_without_the_site_name_and_an_opening_that_welcomes(context):
    # Before: the title kept " - Ministry of Commerce", and the spokesperson's "Welcome to the
    # regular press conference" was an answer whose question is not on this page.
    page = page_of(context, "mofcom.html", COMMERCE_2023)
    accounted(page, html_text(COMMERCE_2023))
    assert page.title == "Transcript of MOFCOM regular press conference on June 8, 2023"
    assert (page.date, page.date_source) == (dt.date(2023, 6, 8), "conference_date")
    assert [(t.speaker, t.role, t.kind) for t in page.turns] == [
        ("Shu Jueting", "official", "statement"), ("Reuters", "journalist", "question"),
        ("Shu Jueting", "official", "answer"), ("Xinhua News Agency", "journalist", "question"),
        ("Shu Jueting", "official", "answer")]
    assert not page.warnings and "Related" not in page.turns[-1].text and "Copyright" not in page.turns[-1].text


@pytest.mark.parametrize(("opening", "kind"), [
    ("Good afternoon, everyone. Two announcements before your questions today.", "statement"),
    ("Good morning, and thank you for joining us. Dr. Walensky will start with the data.", "statement"),
    ("Good afternoon. I have no announcement to make today.", "answer"),  # may open an inner page's answer
])
def test_a_first_turn_that_greets_the_room_is_a_statement(context, opening, kind):
    # Before: with no speaker list or front matter, every official turn before the first
    # question was an "answer whose question is not on this page".
    text = (f"Transcript of the regular press conference, June 8, 2023\n\nMS. SHU: {opening}\n\n"
            "Q: How did foreign trade perform in May?\n\nMS. SHU: Imports and exports grew by half a percent.\n")
    page = page_of(context, "briefing.txt", text)
    assert [(t.speaker, t.kind) for t in page.turns] == [("Shu", kind), ("Q", "question"), ("Shu", "answer")]
    assert bool(page.warnings) == (kind == "answer")


def test_a_saved_ministry_page_loses_its_chrome_by_structure_and_takes_its_date_from_its_markup(context):
    text = html_text(MINISTRY_2023)
    assert "The Ministry" not in text and "Sitemap" not in text and "Français" not in text  # menus, footer, switcher
    assert "Press conference of May 5" not in text  # a list of links inside the content
    page = page_of(context, "mfa_2023.html", MINISTRY_2023)
    assert (page.date, page.date_source) == (dt.date(2023, 5, 6), "html_metadata")
    assert [(t.speaker, t.kind) for t in page.turns] == [
        ("Mao Ning", "answer"), ("CCTV", "question"), ("Mao Ning", "answer")]  # no speaker list: maybe an inner page
    assert page.turns[0].text == "Good afternoon. I have no announcement to make today."
