"""SCIO page parsing: every trap of the sample files, and page variants the sample lacks."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.records import Dropped, Kept
from tests.conftest import TRANSCRIPTS


def real(name: str) -> str:
    return next(TRANSCRIPTS.glob(f"{name}_*.txt")).read_text(encoding="utf-8")


def summary(page):
    return [(t.speaker, t.role, t.kind) for t in page.turns]


def nonblank_lines(text: str) -> set[int]:
    return {n for n, line in enumerate(text.split("\n"), 1) if line.strip()}


# --- the real sample files -------------------------------------------------------------

def test_002_roles_kinds_handovers_and_nbsp_labels(parse):
    text = real("002")
    page = parse(text)
    assert page.title == "SCIO briefing on development of industry and information technology"
    assert (page.date, page.date_source) == (dt.date(2021, 3, 1), "conference_date")
    outlets = [t.outlet for t in page.turns if t.kind == "question"]
    assert outlets == ["CCTV", "Thecover.cn", "CNBC", "CNR", "Reuters", "Asahi Shimbun", "Ta Kung Pao",
                       "New York Times", "CRNTT", "Red Star News", "Economic Daily", "Yicai"]
    assert all(t.role == "journalist" for t in page.turns if t.kind == "question")
    kinds = summary(page)
    assert kinds[0] == ("Shou Xiaoli", "moderator", "procedural")
    assert kinds[1] == ("Xiao Yaqing", "official", "statement")
    # CNBC's chip question: Xiao hands over, Tian answers, and the answer links to CNBC.
    cnbc = next(i for i, t in enumerate(page.turns) if t.outlet == "CNBC")
    handover, answer = page.turns[cnbc + 1], page.turns[cnbc + 2]
    assert (handover.speaker, handover.kind) == ("Xiao Yaqing", "procedural")
    assert "invite Mr. Tian" in handover.text
    assert (answer.speaker, answer.kind, answer.question) == ("Tian Yulong", "answer", cnbc)
    # "Xiao Yaqing:\u00a0" before the Ta Kung Pao hand-over is a label, not text.
    takung = next(i for i, t in enumerate(page.turns) if t.outlet == "Ta Kung Pao")
    assert page.turns[takung + 1].kind == "procedural"
    assert page.turns[takung + 2].speaker == "Tian Yulong"
    assert nonblank_lines(text) == set(page.lines)


def test_002_yicai_label_with_two_blank_lines_and_final_thanks(parse):
    page = parse(real("002"))
    yicai = next(i for i, t in enumerate(page.turns) if t.outlet == "Yicai")
    assert page.turns[yicai].paragraphs[0].text.startswith("Mr. Xiao just responded")
    answer = page.turns[yicai + 1]
    assert answer.kind == "answer" and answer.paragraphs[-1].text == "Thank you."


def test_002_boilerplate_is_dropped_by_named_rules(parse):
    text = real("002")
    page = parse(text)
    lines = text.split("\n")
    dropped = [(lines[n - 1].strip(), d.rule) for n, d in page.lines.items() if isinstance(d, Dropped)]

    def rule_of(prefix: str) -> set[str]:
        return {rule for line, rule in dropped if line.startswith(prefix)}

    assert rule_of("_ueditor_page_break_tag_") == {"boilerplate:page_break_tag"}
    assert rule_of("Read in Chinese") == {"boilerplate:read_in_chinese"}
    assert rule_of("Translated and edited by") == {"boilerplate:translation_credit"}
    assert rule_of("/4") == {"boilerplate:photo_caption"}
    assert not any("Translated" in p.text for t in page.turns for p in t.paragraphs)


def test_000_unlabelled_question_is_not_glued_to_anything(parse):
    page = parse(real("000"))
    assert summary(page) == [("unknown", "journalist", "question"), ("Xiao Yaqing", "official", "answer")]
    assert page.turns[1].question == 0
    assert (page.date, page.date_source) == (dt.date(2021, 3, 1), "conference_day_with_publication_year")


def test_004_unlabelled_questions_handover_and_publication_date(parse):
    text = real("004")
    page = parse(text)
    assert summary(page) == [
        ("unknown", "journalist", "question"),
        ("Tian Yulong", "official", "procedural"),
        ("Tao Qing", "official", "answer"),
        ("unknown", "journalist", "question"),
        ("Tian Yulong", "official", "answer"),
    ]
    assert page.turns[2].question == 0 and page.turns[4].question == 3
    # The second question is not the tail of Tao Qing's answer, which ends with its thanks.
    assert page.turns[2].paragraphs[-1].text == "Thank you!"
    # "in 2022" in the title is the year reviewed, not a date.
    assert (page.date, page.date_source) == (dt.date(2023, 2, 3), "publication_date")
    comment_form = [n for n, d in page.lines.items() if isinstance(d, Dropped) and d.rule == "boilerplate:comment_form"]
    assert len(comment_form) == 13
    assert nonblank_lines(text) == set(page.lines)


def test_003_header_without_labels_statement_and_colon_sentence(parse):
    page = parse(real("003"))
    assert summary(page) == [("Shou Xiaoli", "moderator", "procedural"), ("Xiao Yaqing", "official", "statement")]
    assert (page.date, page.date_source) == (dt.date(2022, 2, 28), "conference_date")
    statement = page.turns[1]
    # "I. ... Here are some figures:" is text inside the statement, not a speaker label.
    assert any(p.text.endswith("Here are some figures:") for p in statement.paragraphs)


def test_001_page_starting_mid_conference(parse):
    page = parse(real("001"))
    assert summary(page) == [
        ("Shou Xiaoli", "moderator", "procedural"),
        ("China Daily", "journalist", "question"),
        ("Jin Zhuanglong", "official", "answer"),
    ]
    assert (page.date, page.date_source) == (dt.date(2023, 3, 21), "publication_date")


def test_kept_lines_point_at_the_paragraph_holding_them(parse):
    text = real("002")
    page = parse(text)
    lines = text.split("\n")
    for number, disposition in page.lines.items():
        if isinstance(disposition, Kept):
            paragraph = page.turns[disposition.turn].paragraphs[disposition.paragraph]
            assert paragraph.line_start <= number <= paragraph.line_end
            assert " ".join(lines[number - 1].split()) in paragraph.text


# --- page variants not in the sample -------------------------------------------------

UNLABELLED_HEADER = """\
SCIO press conference on the industrial internet

The State Council Information Office held a press conference in Beijing on June 8 to brief the media.\u00a0 June 10, 2021

Mr. Wang Zhijun, vice minister of industry and information technology

Mr. Xie Cun, director general of the Department of Information Technology Development of MIIT


Ms. Xing Huina, deputy director general of the Press Bureau of the State Council Information Office (SCIO) and SCIO spokesperson

Xing Huina:
Good morning. Today we have invited Mr. Wang Zhijun to brief you. Now the floor is his.

Wang Zhijun:
Good morning. The industrial internet has grown fast over the past year, and we have built more platforms.

Second, we will deepen its use in manufacturing.

Caixin:
How many platforms will be built this year? Thank you.

Xie Cun:
Thank you for your question. We will build more than 100 platforms this year across the country.
"""


def test_unlabelled_header_honorifics_unregistered_chair_and_unlisted_outlet(parse):
    page = parse(UNLABELLED_HEADER)
    assert page.title == "SCIO press conference on the industrial internet"
    assert summary(page) == [
        ("Xing Huina", "moderator", "procedural"),
        ("Wang Zhijun", "official", "statement"),
        ("Caixin", "journalist", "question"),
        ("Xie Cun", "official", "answer"),
    ]
    assert page.turns[3].question == 2
    assert (page.date, page.date_source) == (dt.date(2021, 6, 8), "conference_day_with_publication_year")
    assert len(page.turns[1].paragraphs) == 2
    assert page.unknown_speakers == []


def test_day_first_dates_in_the_title_and_the_held_line(parse):
    """"2 March 2023" (day first, as British and Commonwealth sites write it) is a date."""
    titled = UNLABELLED_HEADER.replace("SCIO press conference on the industrial internet",
                                       "SCIO press conference on the industrial internet, 2 March 2023")
    titled = titled.replace(" on June 8 to brief the media.\u00a0 June 10, 2021", " to brief the media.")
    page = parse(titled)
    assert (page.date, page.date_source) == (dt.date(2023, 3, 2), "conference_date")
    held = UNLABELLED_HEADER.replace("on June 8 to brief the media.\u00a0 June 10, 2021",
                                     "on 8th June to brief the media.\u00a0 10 June 2021")
    page = parse(held)
    assert (page.date, page.date_source) == (dt.date(2021, 6, 8), "conference_day_with_publication_year")
    assert len(page.turns) == 4


def test_a_hard_wrapped_line_that_ends_a_sentence_or_a_clause_ends_its_paragraph(parse):
    # A page with no blank lines (the White House's Markdown exports): a paragraph ends where a
    # line ends with a full stop, a colon, a semicolon or a closing quote; other lines join.
    page = parse("Press Briefing by Press Secretary Jen Psaki, May 5, 2021\nMS. PSAKI:  We will do three things:\n"
                 "first, rejoin the agreement;\nsecond, convene the leaders\nof the largest economies;\n"
                 "third, report back to you.\nQ    Thank you.\n")
    assert [p.text for p in page.turns[0].paragraphs] == [
        "We will do three things:", "first, rejoin the agreement;",
        "second, convene the leaders of the largest economies;", "third, report back to you."]


def test_unlabelled_header_puts_the_chairperson_last(parse):
    text = UNLABELLED_HEADER.replace(
        "deputy director general of the Press Bureau of the State Council Information Office (SCIO) and SCIO spokesperson",
        "moderator of today's event",
    )
    assert parse(text).turns[0].role == "moderator"


def test_page_with_no_blank_lines_gives_the_same_turns(parse):
    dense = "\n".join(line for line in UNLABELLED_HEADER.split("\n") if line.strip())
    spaced, compact = parse(UNLABELLED_HEADER), parse(dense)
    assert summary(compact) == summary(spaced)
    assert [[p.text for p in t.paragraphs] for t in compact.turns] == [
        [p.text for p in t.paragraphs] for t in spaced.turns
    ]
    assert compact.title == spaced.title


def test_stray_first_line_is_dropped_before_the_title(parse):
    page = parse("http://www.scio.gov.cn/xwfbh/index.htm\n\n" + UNLABELLED_HEADER)
    assert page.title == "SCIO press conference on the industrial internet"
    assert page.lines[1] == Dropped("header:before_title")
    assert summary(page)[1] == ("Wang Zhijun", "official", "statement")


def test_page_starting_with_an_outlet_label(parse):
    page = parse(
        "SCIO press conference on 5G\n\nPhoenix TV:\nWhat is the progress of 5G? Thank you.\n\n"
        "Xiao Yaqing:\nThank you. We have built many 5G base stations this year across China.\n"
    )
    assert summary(page) == [("Phoenix TV", "journalist", "question"), ("Xiao Yaqing", "official", "answer")]


def test_page_starting_with_an_unlabelled_question_after_an_answer_tail(parse):
    page = parse(
        "SCIO press conference on 5G\n\n"
        "and this is how the previous answer on the earlier page ended.\n\n"
        "What is the progress of 5G?\n\n"
        "Tian Yulong:\nThank you. We have built many 5G base stations this year across China.\n"
    )
    assert [t.kind for t in page.turns] == ["unknown", "question", "answer"]
    assert page.warnings and "attributed to no one" in page.warnings[0]


def test_rhetorical_question_closing_an_answer_stays_in_the_answer(parse):
    page = parse(
        "SCIO press conference on 5G\n\nCCTV:\nWhat next? Thank you.\n\n"
        "Xiao Yaqing:\nThank you. We will build more base stations.\n\nWhy does it matter?\n\n"
        "Shou Xiaoli:\nThank you. Next question.\n"
    )
    assert summary(page) == [("CCTV", "journalist", "question"), ("Xiao Yaqing", "official", "answer"),
                             ("Shou Xiaoli", "moderator", "procedural")]
    assert page.turns[1].paragraphs[-1].text == "Why does it matter?"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Xiao Yaqing:", "Xiao Yaqing"),
        ("New York Times:\u00a0", "New York Times"),
        ("Thecover.cn:", "Thecover.cn"),
        ("Mr. Xiao Yaqing:", "Xiao Yaqing"),
        ("Here are some figures:", None),
        ("I. The industrial economy saw sustained recovery and development. Here are some figures:", None),
        ("Speakers:", None),
        ("Date:", None),
        ("First, we will:", None),
    ],
)
def test_speaker_label(line, expected):
    from pipeline.readers.scio import speaker_label

    assert speaker_label(line, 6) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["Beijing | 10 a.m. March 1, 2021"], (dt.date(2021, 3, 1), "conference_date")),
        (["Date:", "March 1, 2021"], (dt.date(2021, 3, 1), "conference_date")),
        (["Feb. 28, 2022"], (dt.date(2022, 2, 28), "conference_date")),
        (["China.org.cn | March 21, 2023"], (dt.date(2023, 3, 21), "publication_date")),
        (["0 Comment(s)Print E-mail, February 3, 2023"], (dt.date(2023, 2, 3), "publication_date")),
        (["SCIO press conference on development in 2022"], (None, "none")),
        (["The SCIO held a press conference on Dec. 30 in Beijing. January 2, 2022"],
         (dt.date(2021, 12, 30), "conference_day_with_publication_year")),
    ],
)
def test_page_date(lines, expected):
    from pipeline.readers.scio import page_date

    found = page_date(lines)
    assert (found.date, found.source) == expected


# --- whatever a scraper puts above the header --------------------------------------------

JUNK_LINES = [
    "Home", "The Ministry", "About Us", "Press Room", "Regular Press Conference", "Spokesperson's Remarks",
    "Briefings", "English | 中文 | Français", "Press Conferences", "SCIO Briefings",
    "Foreign Ministry Spokesperson's Regular Press Conference", "Home > Press Room > Briefings", "Print", "Share",
    "URL: http://english.scio.gov.cn/pressroom/node_8011005.htm", "https://www.fmprc.gov.cn/eng/xwfw_665399/",
    "Source: SCIO", "Text size: A A A", "",
    "Date scraped: 2024-05-01", "Retrieved May 1, 2024", "Accessed: 2024-05-01 09:12",  # when a crawler saved it
]


def parsed(page) -> tuple:
    return (page.title, page.date, page.date_source,
            [(t.speaker, t.role, t.kind, [p.text for p in t.paragraphs]) for t in page.turns])


def test_a_url_line_or_a_menu_above_the_title_keeps_the_header(parse):
    # A crawler's URL line: before, the page had no title or date, and the SCIO host listed
    # under "Chairperson" became an official. A site menu: its item was taken for the title.
    text = real("002")
    for junk in ("URL: http://english.scio.gov.cn/pressroom/2021-03/02/content_77262380.htm\n",
                 "\n".join(JUNK_LINES[:12] * 9) + "\n\n"):
        page = parse(junk + text)
        assert parsed(page) == parsed(parse(text))
        assert page.date == dt.date(2021, 3, 1) and page.title.startswith("SCIO briefing on development")
        assert {t.speaker: t.role for t in page.turns}["Shou Xiaoli"] == "moderator"
        assert all(page.lines[n] == Dropped("header:before_title") for n in range(1, junk.count("\n") + 1)
                   if n in page.lines)


PAGE_WITHOUT_DATE = ("SCIO press conference on the industrial internet\n\nSpeakers:\n\n"
                     "Wang Zhijun, vice minister of industry and information technology\n\n"
                     "Xinhua:\nWhat is the plan? Thank you.\n\nWang Zhijun:\nWe will build more networks.\n")


def test_a_date_only_above_the_title_dates_the_page_and_says_so(parse):
    # Before: any date line above the title outranked the page's own, so a crawler's field
    # redated pages that state a weaker date (001, 004: their publication date) to 2024.
    assert parse(PAGE_WITHOUT_DATE).date is None
    page = parse("Date: 2021-03-01\n" + PAGE_WITHOUT_DATE)
    assert (page.date, page.date_source) == (dt.date(2021, 3, 1), "above_title")
    page = parse("URL: http://english.scio.gov.cn/pressroom/2021-03/02/content_77262380.htm\n" + PAGE_WITHOUT_DATE)
    assert (page.date, page.date_source) == (dt.date(2021, 3, 2), "url_date")
    for when_scraped in ("Date scraped: 2024-05-01", "Accessed May 1, 2024", "Retrieved: 2024-05-01"):
        assert parse(f"{when_scraped}\n{PAGE_WITHOUT_DATE}").date is None  # undated, not misdated


@pytest.mark.parametrize("name", ["000", "001", "002", "003", "004"])
def test_a_crawlers_own_date_above_the_title_changes_nothing(parse, name):
    text = real(name)
    for fields in ("Date: 2024-05-01\n", "URL: http://english.scio.gov.cn/x.htm\nDate: 2024-05-01\n\n",
                   "2024-05-01 09:12\n", "May 1, 2024\n", "Updated: May 1, 2024\n"):
        assert parsed(parse(fields + text)) == parsed(parse(text))


@pytest.mark.parametrize("date_line", ["June 16, 2023", "**Date:** June 16, 2023"])
def test_a_title_without_a_titles_words_above_a_venue_line_that_has_them(parse, date_line):
    # Before: "The James S. Brady Press Briefing Room" (it has "Briefing") was the title, so
    # the page's own date stood above its title, and two briefings of one day became one.
    page = parse(f"Date scraped: 2025-11-02\nHome\nBriefing Room\n\nPress Gaggle by Principal Deputy Press "
                 f"Secretary Olivia Dalton En Route West\n{date_line}\n\nThe James S. Brady Press Briefing Room\n\n"
                 "MS. DALTON:  Hey, everybody. A few things at the top.\n\nQ    What is the plan for today?\n\n"
                 "MS. DALTON:  The President will speak at noon.\n")
    assert page.title == "Press Gaggle by Principal Deputy Press Secretary Olivia Dalton En Route West"
    assert (page.date, page.date_source) == (dt.date(2023, 6, 16), "conference_date")
    assert [t.role for t in page.turns] == ["official", "journalist", "official"]


def test_a_dated_title_without_a_titles_words_below_a_menu_item_that_has_them(parse):
    # Before: the menu's "Regular Press Conference" was the title and the page was undated
    # (139 of 300 bench briefings rendered as naive dumps with a menu above them).
    menu = "Home\nThe Ministry\nRegular Press Conference\nSpeeches\nEnglish | 中文 | Français\n\n"
    page = parse(menu + "Background Press Call on the Upcoming Summit, June 14, 2022\n\n" + BACKGROUND_CALL)
    assert page.title == "Background Press Call on the Upcoming Summit, June 14, 2022"
    assert (page.date, page.date_source) == (dt.date(2022, 6, 14), "conference_date")
    assert {page.lines[n].rule for n in range(1, 6)} == {"header:before_title"}
    # A source's dateline is no title: the page's own undated title line still is.
    page = parse(menu + "SCIO press conference on the digital economy\n\n\n\n\nChina.org.cn | March 21, 2023\n\n"
                 + BACKGROUND_CALL)
    assert page.title == "SCIO press conference on the digital economy"


BACKGROUND_CALL = ("MODERATOR:  Good afternoon, everyone. This call is on background and embargoed until 5:00 p.m.\n\n"
                   "SENIOR ADMINISTRATION OFFICIAL:  Thanks. The summit opens tomorrow.\n\n"
                   "Q    What will the leaders sign?\n\nSENIOR ADMINISTRATION OFFICIAL:  A joint statement.\n")


@pytest.mark.parametrize("title", ["Background Press Call by a Senior Administration Official on the ASEAN",
                                   "Press Briefing by Press Secretary Jen Psaki"])
def test_the_line_a_pages_url_names_is_its_title_not_the_venue_line_below_it(parse, title):
    # Before: "The James S. Brady Press Briefing Room" (it has "Briefing") was the title, dated
    # by the hour in the moderator's first answer; two briefings of one day became one.
    slug = "-".join(re.findall(r"[a-z]+", title.lower()))
    page = parse(f"https://www.whitehouse.gov/briefing-room/press-briefings/2022/05/11/{slug}-special-summit/\n"
                 f"Accessed November 2, 2025\n\n{title}\n\nThe James S. Brady Press Briefing Room\n\n" + BACKGROUND_CALL)
    assert page.title == title
    assert (page.date, page.date_source) == (dt.date(2022, 5, 11), "url_date")
    assert [t.role for t in page.turns] == ["moderator", "official", "journalist", "official"]


def markdown(text: str, title: str) -> str:
    """A page as a Markdown export writes it: the title a heading, header fields and labels bold."""
    lines = []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped and stripped == title:
            line = f"# {stripped}"
        elif re.fullmatch(r"(Speakers|Chairperson|Date|[A-Z][\w.]*(?: [A-Z][\w.]*){0,3}):", stripped):
            line = f"**{stripped}**"
        elif re.match(r"Date: \S", stripped):
            line = "**Date:**" + stripped[len("Date:"):]
        lines.append(line)
    return "\n".join(lines)


@pytest.mark.parametrize("name", ["000", "001", "002", "003", "004"])
def test_a_markdown_export_of_a_page_reads_as_the_page(parse, name):
    # Before: the title kept its "# ", and on 002 a bold "**Date:**" became a speaker's label.
    text = real(name)
    plain = parse(text)
    if "\n" not in plain.title:
        assert markdown(text, plain.title) != text
    assert parsed(parse(markdown(text, plain.title))) == parsed(plain)


@pytest.mark.parametrize("name", ["000", "001", "002", "003", "004"])
def test_a_dump_with_a_blank_line_after_every_line_reads_as_the_page(parse, name):
    # Before: on 002 the title's second line ("and information technology"), once a blank
    # line stood above it, ended the header: no title tail, no speaker list, no date.
    text = real(name)
    spaced = "\n\n".join(line for line in text.split("\n") if line.strip())
    assert parsed(parse(spaced)) == parsed(parse(text))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["000", "001", "002", "003", "004"]),
       junk=st.lists(st.sampled_from(JUNK_LINES), min_size=1, max_size=150))
def test_junk_above_any_bundled_page_changes_nothing(parse, name, junk):
    # Up to 150 lines of URLs, menu items, breadcrumbs and blank lines above a bundled page:
    # the same title, date and turns as without them, and every junk line accounted for.
    text = real(name)
    page = parse("\n".join(junk) + "\n" + text)
    assert parsed(page) == parsed(parse(text))
    assert {n for n, line in enumerate(junk, 1) if line.strip()} <= set(page.lines)


# --- whatever a naive HTML-to-text dump keeps below the transcript --------------------------

FOOTER_LINES = [
    "Related News", "Xi Jinping meets Tanzanian President", "Li Qiang attends the summit in Kazan",
    "Home | About Us | Contact Us | Sitemap", "Copyright © China Internet Information Center. All Rights Reserved.",
    "E-mail: webmaster@china.org.cn Tel: 86-10-88828000", "京ICP证 040089号", "Share:", "Facebook", "Twitter",
    "Print", "Back to top", "Address: No. 2, Chaoyangmen Nandajie, Chaoyang District, Beijing", "Follow us on WeChat",
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["000", "001", "002", "003", "004"]),
       footer=st.lists(st.sampled_from(FOOTER_LINES), min_size=3, max_size=len(FOOTER_LINES), unique=True),
       spaced=st.booleans())
def test_a_sites_footer_below_any_bundled_page_changes_nothing(parse, name, footer, spaced):
    # Before: the footer was the last answer's text, and "Share:" a speaker with the turn "Facebook Twitter".
    text = real(name).rstrip("\n") + "\n\n"
    page = parse(text + ("\n\n" if spaced else "\n").join(footer) + "\n")
    assert parsed(page) == parsed(parse(text))
    below = text.count("\n")
    assert {d.rule for n, d in page.lines.items() if n > below} == {"footer:after_body"}
    assert max(page.lines) == below + len(footer) * (2 if spaced else 1) - (1 if spaced else 0)


def test_a_transcripts_own_short_last_lines_are_not_a_footer(parse):
    # Short lines without a full stop that a page takes as turns, or fewer than three, stay.
    page = parse("Press Briefing by Press Secretary Jen Psaki, May 5, 2021\n\nMS. PSAKI:  Good afternoon. We have news.\n\n"
                 "Q    Thanks, Jen\n\nMS. PSAKI:  Thank you\n\nQ    Thanks\n\nMS. PSAKI:  See you tomorrow\n\n"
                 "To view the slides, visit\n<https://www.whitehouse.gov/slides.pdf>\n")
    assert [t.speaker for t in page.turns][-4:] == ["Q", "Psaki", "Q", "Psaki"]
    assert page.turns[-1].paragraphs[-1].text.endswith("<https://www.whitehouse.gov/slides.pdf>")
