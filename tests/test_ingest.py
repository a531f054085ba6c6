"""Corpus tables from the bundled transcripts, and line accounting as a property."""

from __future__ import annotations

import datetime as dt
import gzip
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import cluster
from pipeline.config import ColumnsConfig, CorpusConfig, ScioConfig
from pipeline.ingest import build_corpus, ingest, read_files
from pipeline.readers import READERS, decode_source
from pipeline.records import SkippedFile
from pipeline.readers.scio import parse_scio_page, source_lines
from tests.conftest import ROOT, TRANSCRIPTS


def substantive(corpus):
    turns = corpus.turns
    return turns[turns.kind.isin(["statement", "answer"]) & (turns.duplicate_of == "")]


def test_files_read_in_worker_processes_are_read_as_here(context):
    pages = [*sorted(TRANSCRIPTS.glob("*.txt")), *sorted((ROOT / "data" / "other_layouts" / "whitehouse").glob("*.md"))]
    sources = [(path.relative_to(ROOT).as_posix(), path.read_bytes()) for path in pages]
    here = list(read_files(sources, READERS["scio"], context))
    in_workers = list(read_files(sources, READERS["scio"], context, cluster.local_workers(), parallel_lines=0))
    assert in_workers == here
    assert [page.source_file for parsed, _ in here for page in parsed] == [name for name, _ in sources]
    languages = {language for _, of_page in here for language in of_page.values()}
    assert {"en", "und"} <= languages


def test_four_conferences_with_their_years(bundled_corpus):
    conferences = bundled_corpus.conferences
    assert list(conferences.year) == [2021, 2022, 2023, 2023]
    assert list(conferences.date) == ["2021-03-01", "2022-02-28", "2023-02-03", "2023-03-21"]
    assert list(conferences.date_source) == ["conference_date", "conference_date", "publication_date",
                                             "publication_date"]
    assert conferences.conference_id.is_unique


def test_substantive_official_turns_per_speaker(bundled_corpus):
    turns = substantive(bundled_corpus)
    assert turns.groupby("speaker").size().to_dict() == {
        "Xiao Yaqing": 11, "Tian Yulong": 4, "Jin Zhuanglong": 1, "Tao Qing": 1,
    }
    xiao = turns[turns.speaker == "Xiao Yaqing"].merge(bundled_corpus.conferences, on="conference_id")
    assert sorted(zip(xiao.year, xiao.kind)).count((2021, "answer")) == 9
    assert sorted(zip(xiao.year, xiao.kind)).count((2021, "statement")) == 1
    assert sorted(zip(xiao.year, xiao.kind)).count((2022, "statement")) == 1
    answers = turns[turns.kind == "answer"]
    assert (answers.question_turn_id != "").all()
    assert set(answers.question_turn_id) <= set(bundled_corpus.turns.turn_id)


def test_roles_of_moderator_and_outlets(bundled_corpus):
    turns = bundled_corpus.turns
    assert set(turns[turns.speaker == "Shou Xiaoli"].role) == {"moderator"}
    from_002 = turns[turns.source_file.str.contains("002_")]
    questions = from_002[from_002.kind == "question"]
    assert len(questions) == 12 and set(questions.role) == {"journalist"}
    assert (questions.outlet == questions.speaker).all()


def test_duplicate_page_yields_each_paragraph_once(bundled_corpus):
    paragraphs = bundled_corpus.paragraphs
    from_000 = paragraphs[paragraphs.source_file.str.contains("000_")]
    assert len(from_000) == 5 and (from_000.duplicate_of != "").all()
    originals = paragraphs.set_index("paragraph_id").loc[list(from_000.duplicate_of)]
    assert originals.source_file.str.contains("002_").all()
    assert list(originals.text) == list(from_000.text)
    unique = paragraphs[paragraphs.duplicate_of == ""]
    # Repeats within one page are speech, not copies: 004 closes both answers with "Thank you!".
    assert unique.text[unique.text.duplicated()].tolist() == ["Thank you!"]
    assert bundled_corpus.conferences.source_files.str.contains("000_.*;.*002_").sum() == 1


def test_every_nonblank_line_is_accounted_for_once(bundled_corpus):
    for entry in bundled_corpus.report["files"]:
        text = (ROOT / entry["source_file"]).read_text(encoding="utf-8")
        nonblank = [n for n, line in enumerate(text.split("\n"), 1) if line.strip()]
        assert [e["line"] for e in entry["lines"]] == nonblank
        kept_ids = {e["paragraph_id"] for e in entry["lines"] if e["status"] == "kept"}
        assert kept_ids <= set(bundled_corpus.paragraphs.paragraph_id)
        assert all(e.get("rule") for e in entry["lines"] if e["status"] == "dropped")


def test_ids_are_stable_strings(bundled_corpus):
    paragraphs = bundled_corpus.paragraphs
    assert paragraphs.paragraph_id.is_unique and bundled_corpus.turns.turn_id.is_unique
    assert paragraphs.paragraph_id.iloc[0] == "2021-03-01-development-of-industry-and-information-technology/t000/p00"


def test_date_override_replaces_the_page_date(default_loaded, registry):
    from tests.conftest import TRANSCRIPTS

    cfg = default_loaded.config.corpus.model_copy(
        update={"date_overrides": {"004_e5707ab19b1a1ef0.txt": dt.date(2023, 1, 17)}}
    )
    sources = [(p.name, p.read_bytes()) for p in sorted(TRANSCRIPTS.glob("*.txt"))]
    corpus = ingest(sources, cfg, registry)
    row = corpus.conferences[corpus.conferences.source_files == "004_e5707ab19b1a1ef0.txt"].iloc[0]
    assert (row.date, row.date_source) == ("2023-01-17", "config_override")


def test_decode_source_reasons():
    assert decode_source("a", b"") == SkippedFile("a", "empty file")
    assert "binary" in decode_source("a", b"\x89PNG\x00\x00\x01").reason
    assert "not UTF-8" in decode_source("a", "caf\u00e9".encode("latin-1")).reason
    assert decode_source("a", gzip.compress("héllo".encode())) == "héllo"


def test_csv_and_jsonl_turns_give_the_same_tables(directory, registry):
    rows = [
        {"conf": "c1", "when": "2024-05-01", "who": "Shou Xiaoli", "said": "Welcome. The floor is open.", "src": "a"},
        {"conf": "c1", "when": "2024-05-01", "who": "Bloomberg", "said": "What about chips?\n\nThank you.", "src": "b"},
        {"conf": "c1", "when": "2024-05-01", "who": "Xiao Yaqing", "said": "Chips matter a lot to us.\n\nWe will invest.", "src": "c"},
    ]
    columns = ColumnsConfig(text="said", speaker="who", date="when", conference="conf", extra=("src",))
    csv_text = "conf,when,who,said,src\n" + "".join(
        f'{r["conf"]},{r["when"]},{r["who"]},"{r["said"]}",{r["src"]}\n' for r in rows
    )
    jsonl_text = "".join(json.dumps(r) + "\n" for r in rows)
    tables = {}
    for fmt, text in (("csv", csv_text), ("jsonl", jsonl_text)):
        cfg = CorpusConfig(format=fmt, columns=columns)
        tables[fmt] = ingest([("turns." + fmt, text.encode())], cfg, registry)
    csv_turns, jsonl_turns = tables["csv"].turns, tables["jsonl"].turns
    keep = ["turn_id", "speaker", "role", "kind", "question_turn_id", "n_paragraphs", "src"]
    assert csv_turns[keep].equals(jsonl_turns[keep])
    assert list(csv_turns.kind) == ["procedural", "question", "answer"]
    assert list(csv_turns.role) == ["moderator", "journalist", "official"]
    assert list(csv_turns.n_paragraphs) == [1, 2, 2]
    # CSV rows span physical lines (quoted newlines); each row keeps its own range.
    assert list(zip(csv_turns.line_start, csv_turns.line_end)) == [(2, 2), (3, 5), (6, 8)]
    assert list(jsonl_turns.line_start) == [1, 2, 3]
    assert tables["csv"].conferences.date_source.tolist() == ["input_column"]


# --- property: no line lost or counted twice, never raises --------------------------------

LABELS = ["Xiao Yaqing:", "Tian Yulong:\u00a0", "Shou Xiaoli:", "CCTV:", "New York Times:\u00a0",
          "Zhang San:", "Caixin:", "Speakers:", "Chairperson:", "Date:",
          # inline layouts, labels glued to artifacts, Chinese-script labels, front matter
          "MS. PSAKI:  Good afternoon.", "Q    What about chips?", "Q: Will you?", "A: We will.",
          "Reuters: And 5G?", "The Paper: Why?", "Zhao Lijian: We oppose it.", "In 2021: output rose.",
          "_ueditor_page_break_tag_Xiao Yaqing:", "_ueditor_page_break_tag_Tian Yulong: Yes.", "肖亚庆：我们将支持。",
          "---", "title: Press Briefing by Press Secretary Jen Psaki", "date: '2021-01-20'", "7:06 P.M. EST",
          "2020-05-06 21:30", "https://www.fmprc.gov.cn/eng/2021/03/02/t1.shtml"]
BOILERPLATE = ["_ueditor_page_break_tag_", "Read in Chinese", "<\u00a0 1\u00a0 2\u00a0 >",
               "ㄑ\u00a0Press Room", "/4\u00a0\u00a0 Xiao Yaqing", "Translated and edited by Li Xiao",
               "0 Comment(s)Print E-mail, February 3, 2023", "Adjust font size:"]
HEADER = ["SCIO press conference on industry", "and information technology", "March 1, 2021",
          "Beijing | 10 a.m. March 1, 2021", "Mr. Wang Wu, vice minister of industry",
          "Xin Guobin, vice minister of industry and information technology",
          "Ms. Shou Xiaoli, spokesperson of the SCIO"]
WORDS = st.sampled_from(["industry", "chips", "5G", "supply", "chain", "we", "will", "the", "Thank",
                         "you", "COVID-19", "Here", "are", "figures:", "What", "How", "Mr.", "Xiao"])
SENTENCE = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(WORDS, min_size=1, max_size=12),
    st.sampled_from([".", "?", "? Thank you.", "", ":", "!"]),
)
NOISE = st.text(alphabet=st.sampled_from(list("ab :?.\u00a0\t\r-")), max_size=12)
LINE = st.one_of(st.sampled_from(LABELS + BOILERPLATE + HEADER), SENTENCE, NOISE)
PAD = st.sampled_from(["", " ", "\u00a0", "\t", "  "])


@st.composite
def transcripts(draw):
    pieces = []
    for line in draw(st.lists(LINE, max_size=40)):
        pieces.append(draw(PAD) + line + draw(PAD))
        pieces.extend([""] * draw(st.integers(0, 3)))
    return "\n".join(pieces)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=transcripts())
def test_parser_accounts_for_every_line_exactly_once(text, directory):
    page = parse_scio_page(text, "generated.txt", ScioConfig(), directory)
    nonblank = {n for n, line in enumerate(source_lines(text), 1) if line.strip()}
    assert set(page.lines) == nonblank
    corpus = build_corpus([page]) if page.turns else None
    if corpus is not None:
        entry = corpus.report["files"][0]
        numbers = [e["line"] for e in entry["lines"]]
        assert sorted(numbers) == sorted(nonblank) and len(numbers) == len(set(numbers))
        kept = [e for e in entry["lines"] if e["status"] == "kept"]
        assert {e["paragraph_id"] for e in kept} <= set(corpus.paragraphs.paragraph_id)
        assert entry["lines_kept"] + sum(entry["lines_dropped"].values()) == len(nonblank)


def test_undated_pages_of_one_title_are_each_their_own_conference(directory):
    # A site's "Regular Press Conference" pages saved without their dates: a title alone is no
    # evidence that they are one event (before, 500 such pages became one conference).
    page = ("Regular press conference of the Ministry of Commerce\n"
            "Gao Feng: Good afternoon. Exports of electric vehicles rose again in the last quarter, {n}.\n"
            "Xinhua: What is the outlook for the coming months?\n"
            "Gao Feng: We expect trade to stay stable in the coming months, supported by new policies.\n")
    pages = [parse_scio_page(page.format(n=n), f"mofcom_{n}.txt", ScioConfig(), directory) for n in range(8)]
    assert all(p.date is None for p in pages)
    corpus = build_corpus(pages)
    assert len(corpus.conferences) == 8 and corpus.conferences.conference_id.is_unique
    assert corpus.conferences.source_files.tolist() == sorted(f"mofcom_{n}.txt" for n in range(8))
    # The same pages with one date: merged (one title, one day), and the report names the merge.
    dated = [parse_scio_page("Beijing | May 11, 2018\n" + page.format(n=n), f"mofcom_{n}.txt", ScioConfig(),
                             directory) for n in range(8)]
    merged = build_corpus(dated)
    assert len(merged.conferences) == 1
    assert any(note.startswith(f"conference {merged.conferences.conference_id.iloc[0]} holds 8 files (mofcom_0.txt")
               for note in merged.report["notes"])


def test_corpus_merge_chooses_which_pages_are_one_conference(directory):
    # Three pages of one title: two held on May 11 (the second a sub-page), one published on May 13
    # with only a publication date ("Updated:"), and one of another title held the same day with
    # the same speaker list.
    def page(name: str, title: str, dateline: str, n: int):
        text = (f"{title}\n{dateline}\n\nGao Feng, spokesperson of the Ministry of Commerce\n\n"
                f"Gao Feng:\nGood afternoon. Exports rose again in the last quarter, item {n}.\n\n"
                "Xinhua:\nWhat is the outlook for the coming months?\n\n"
                f"Gao Feng:\n{answer}\n")
        return parse_scio_page(text, name, ScioConfig(), directory)

    answer = "We expect trade to stay stable in the coming months, supported by the new policies announced in April."
    pages = [page("a.txt", "Press conference on foreign trade", "May 11, 2018", 1),
             page("b.txt", "Press conference on foreign trade", "May 11, 2018", 2),
             page("c.txt", "Press conference on foreign trade", "Updated: May 13, 2018", 3),
             page("d.txt", "Press conference on trade", "May 11, 2018", 4)]
    assert [p.date_source for p in pages] == ["conference_date"] * 2 + ["publication_date", "conference_date"]
    files = {merge: sorted(build_corpus(pages, merge=merge).conferences.source_files)
             for merge in ("auto", "same_day", "never")}
    assert files == {"auto": ["a.txt;b.txt;c.txt;d.txt"], "same_day": ["a.txt;b.txt", "c.txt", "d.txt"],
                     "never": ["a.txt", "b.txt", "c.txt", "d.txt"]}
    # A page of a recurring title published two days later that quotes none of them is another
    # conference (before, it joined May 11's: every "Regular Press Conference" of a fortnight was one).
    answer = "Exports of machinery grew by a tenth, and we will publish the full figures at the end of the month."
    later = page("e.txt", "Press conference on foreign trade", "Updated: May 13, 2018", 5)
    assert sorted(build_corpus([*pages, later]).conferences.source_files) == ["a.txt;b.txt;c.txt;d.txt", "e.txt"]
    numbered = page("f.txt", "Press conference on foreign trade (2)", "Updated: May 13, 2018", 6)
    assert sorted(build_corpus([*pages, numbered]).conferences.source_files) == ["a.txt;b.txt;c.txt;d.txt;f.txt"]


def test_warning_summary_shortens_an_example_at_a_word_boundary():
    from pipeline.ingest import warning_summary

    note = "conference 2023-03-02 is undated, so its 12 answers are modelled but left out of comparisons by year " * 3
    report = {"warnings_by_kind": [{"kind": "undated", "count": 1, "examples": [note.strip()]}]}
    line = warning_summary(report)[1]
    example = line.split("(e.g. ", 1)[1].removesuffix(")")
    assert example.endswith(" ...") and len(example) <= 160
    assert note.startswith(example.removesuffix(" ...")) and note[len(example) - 4] == " "  # cut between words
