"""Label forms beyond "Name:": a name with its outlet in brackets, surnames in capitals with a
particle, Markdown and HTML emphasis around a label, "Q."/"A."; each read as a label on a page
that has no registry entry for anyone on it."""

from __future__ import annotations

import pytest

from pipeline.readers.scio import inline_label, unwrap_label
from pipeline.records import Dropped
from pipeline.speakers import split_affiliation, unified_names, variant_key
from tests.test_layouts import accounted, page_of

SENATE_BRIEFING = """\
Press Briefing of Senate President Aquilino Pimentel III
March 14, 2017

**SP Pimentel**: Good morning. We will take your questions on the budget.

Pia Ranada (Rappler): Will the Senate pass the budget before the recess?

**SP Pimentel**: We will pass it before the recess, as we did last year.

DE LIMA: Mr. President, may I add that the minority has filed its amendments?

**SP Pimentel**: Noted. Next question.

Jun Santos (Manila Bulletin): How many amendments were filed?

**SP Pimentel**: Forty-two, all on the health budget.

DE LIMA: Will the health budget be cut?

**SP Pimentel**: It will not be cut.

__Q__: Is the schedule final?

**SP Pimentel**: The schedule is final.

Pia Ranada (Rappler): And the vote on the tax bill?

**SP Pimentel**: Next week, after the hearings.
"""


@pytest.mark.parametrize("line,expected", [
    ("Pia Ranada (Rappler): Will it pass?", ("Pia Ranada (Rappler)", "Will it pass?")),
    ("Mr. Wang (through interpreter): Yes.", ("Wang (through interpreter)", "Yes.")),
    ("DE LIMA: We filed it.", ("DE LIMA", "We filed it.")),
    ("De Guzman: Yes.", ("De Guzman", "Yes.")),
    ("**SP Pimentel**: The Senate will.", ("SP Pimentel", "The Senate will.")),
    ("**Q:** What next?", ("Q", "What next?")),
    ("__Q__: What next?", ("Q", "What next?")),
    ("<b>Wang Wentao:</b> Thank you.", ("Wang Wentao", "Thank you.")),
    ("Q. What next?", ("Q", "What next?")),
    ("A. We will see.", ("A", "We will see.")),
    ("A. Smith: Yes.", ("A. Smith", "Yes.")),  # an initial, not an answer
    ("Question: What next?", ("Q", "What next?")),  # Q and A in other words
    ("Answer: We will see.", ("A", "We will see.")),
    ("Q1: What next?", ("Q", "What next?")),
    ("Question 2: What next?", ("Q", "What next?")),
    ("Question (Reuters): What next?", ("Question (Reuters)", "What next?")),
    ("of the people: no", None),
    ("de facto: no", None),
    ("The figures (2020): rose", None),
    ("**Note**: this is a heading", None),
    ("**bold** text: not a label", None),
])
def test_label_forms(line, expected):
    assert inline_label(line, 6) == expected


def test_emphasis_must_close_as_it_opens():
    assert unwrap_label("**Q__: What") == "**Q__: What"
    assert unwrap_label("Plain: text") == "Plain: text"


def test_an_affiliation_is_an_outlet_unless_it_is_a_note():
    assert split_affiliation("Pia Ranada (Rappler)") == ("Pia Ranada", "Rappler")
    assert split_affiliation("Wang (through interpreter)") == ("Wang", "")
    assert split_affiliation("Xiao Yaqing") == ("Xiao Yaqing", "")
    # The slash form of Philippine briefings: before, "Joseph Morong/Gma7" was the speaker.
    assert split_affiliation("JOSEPH MORONG/GMA7") == ("JOSEPH MORONG", "GMA7")
    assert split_affiliation("Rose Novenario / Hataw") == ("Rose Novenario", "Hataw")
    assert split_affiliation("Q/A") == ("Q/A", "")  # one word before the slash: no person to split off
    assert inline_label("JOSEPH MORONG/GMA7: Sir, when?", 6) == ("JOSEPH MORONG/GMA7", "Sir, when?")


def test_a_senate_briefing_of_these_labels_gives_each_question_its_asker(context):
    page = page_of(context, "senate.md", SENATE_BRIEFING)
    accounted(page, SENATE_BRIEFING)
    official = ("SP Pimentel", "official", "answer", "")  # the opening too: the page lists no one
    assert [(t.speaker, t.role, t.kind, t.outlet) for t in page.turns] == [
        official, ("Pia Ranada", "journalist", "question", "Rappler"), official,
        ("De Lima", "journalist", "question", "De Lima"), official,
        ("Jun Santos", "journalist", "question", "Manila Bulletin"), official,
        ("De Lima", "journalist", "question", "De Lima"), official,
        ("Q", "journalist", "question", "Q"), official,
        ("Pia Ranada", "journalist", "question", "Rappler"), official,
    ]
    assert page.date.isoformat() == "2017-03-14"


def test_one_persons_variants_are_one_name_and_different_people_stay_apart():
    names = ["President Duterte", "Pres. Duterte", "Duterte", "President Rodrigo Roa Duterte", "Roa Duterte",
             "The President", "John Smith", "Jane Smith", "Smith", "Wang Yi", "Wang", "SP Pimentel",
             "Aquilino Pimentel III"]
    unified = unified_names(names)
    assert {unified[n] for n in names[:5]} == {"President Rodrigo Roa Duterte"}
    assert "The President" not in unified  # a title alone names no one in particular
    assert unified["Smith"] == "Smith" and unified["John Smith"] == "John Smith"  # two Smiths: which one?
    assert unified["Wang"] == "Wang"  # a Chinese surname comes first: "Wang" is not the end of "Wang Yi"
    assert unified["SP Pimentel"] == "Aquilino Pimentel III"
    # Philippine briefings' short titles: "Spox Roque" beside "Sec. Roque" left Roque three people.
    roque = unified_names(["Sec. Roque", "Spox Roque", "Harry Roque", "CabSec Nograles", "Karlo Nograles"])
    assert roque == {"Sec. Roque": "Harry Roque", "Spox Roque": "Harry Roque", "Harry Roque": "Harry Roque",
                     "CabSec Nograles": "Karlo Nograles", "Karlo Nograles": "Karlo Nograles"}
    assert variant_key("PRES. DUTERTE") == ("duterte",) and variant_key("Sen. Leila de Lima") == ("leila", "de", "lima")


DUTERTE_PAGES = {
    "a.md": """\
Press Conference of President Rodrigo Roa Duterte
June 1, 2018

PRESIDENT DUTERTE: Good evening. Let us begin.

Pia Ranada (Rappler): Sir, will you sign the bill?

PRES. DUTERTE: I will sign it next week.

Jun Santos (Manila Bulletin): And the budget, sir?

DUTERTE: The budget comes after the bill.
""",
    "b.md": """\
Press Conference of President Rodrigo Roa Duterte
July 2, 2018

PRESIDENT RODRIGO ROA DUTERTE: Good evening.

Pia Ranada (Rappler): Sir, is the bill signed?

PRESIDENT DUTERTE: It is signed.
""",
}


def test_variants_across_pages_are_one_speaker_with_the_labels_kept(context):
    from pipeline.ingest import build_corpus

    corpus = build_corpus([page_of(context, name, text) for name, text in DUTERTE_PAGES.items()])
    turns = corpus.turns
    officials = turns[turns.role == "official"]
    assert set(officials.speaker) == {"President Rodrigo Roa Duterte"}
    assert set(officials.label) == {"PRESIDENT DUTERTE", "PRES. DUTERTE", "DUTERTE", "PRESIDENT RODRIGO ROA DUTERTE"}
    assert set(corpus.paragraphs[corpus.paragraphs.role == "official"].speaker) == {"President Rodrigo Roa Duterte"}
    assert set(turns[turns.role == "journalist"].speaker) == {"Pia Ranada", "Jun Santos"}


HOST_LISTED_AS_SPEAKER = """\
SCIO press conference on the industrial economy
March 2, 2022

Speakers:
Mr. Xiao Yaqing, minister of industry and information technology
Mr. Chen Wenjun, head of the Press Bureau of the State Council Information Office and SCIO spokesperson

Chen Wenjun:
Ladies and gentlemen, good morning. Welcome to this press conference. Today we have invited Mr. Xiao \
Yaqing to brief you on the industrial economy and to answer your questions.

Xiao Yaqing:
Friends from the media, good morning. Welcome to today's press conference. Industrial output rose by \
nine percent last year, and the manufacturing sector grew faster than the economy as a whole.

Chen Wenjun:
Thank you, Mr. Xiao. Now the floor is open for questions. Please identify your news outlet.

CCTV:
What will the ministry do to keep industrial growth stable this year?

Xiao Yaqing:
We will keep industrial growth stable by supporting small and medium-sized enterprises, cutting their \
costs, and speeding up major projects in advanced manufacturing across the country this year.

Chen Wenjun:
Next question, please.

Reuters:
How will the chip shortage affect carmakers?

Xiao Yaqing:
The chip shortage has eased, and carmakers have raised output for three months in a row, helped by \
new supply agreements between chipmakers and vehicle manufacturers that the ministry encouraged.
"""


def test_the_host_who_opens_and_gives_the_floor_is_the_moderator_whatever_the_list_says(context):
    page = page_of(context, "host.txt", HOST_LISTED_AS_SPEAKER)
    roles = {(t.speaker, t.role, t.role_source) for t in page.turns if t.role != "journalist"}
    assert roles == {("Chen Wenjun", "moderator", "inferred: opens the conference and gives the floor"),
                     ("Xiao Yaqing", "official", "registry")}
    # The minister also says "Welcome to today's press conference", but answers questions.
    assert [t.kind for t in page.turns if t.speaker == "Xiao Yaqing"] == ["statement", "answer", "answer"]


SPOKESPERSON_WHO_OPENS = """\
Foreign Ministry Spokesperson Mao Ning's Regular Press Conference on March 3, 2023

Mao Ning: Good afternoon. Welcome to the press conference. The floor is now open.

Reuters: Will China send envoys to Ukraine next month?

Mao Ning: We have stated our position on the Ukraine crisis many times.

Bloomberg: Can you confirm the minister's travel plans for next week?

Mao Ning: We will release information in due course.

AFP: How do you respond to the report about the balloon?

Mao Ning: Please, the gentleman from AFP in the second row.

AFP: Sorry. How do you respond to the report about the balloon?

Mao Ning: The balloon was a civilian airship that strayed into the airspace by accident.
"""


def test_a_markdown_list_bullet_before_a_label_and_a_venue_field(context):
    # Before: "- **USEC. IGNACIO:** ..." was the last answer's text and "**Venue:** ..." an
    # opening statement by the official the title names.
    page = page_of(context, "ph.md", SENATE_BRIEFING.replace(
        "**SP Pimentel**: Next week", "- **SP Pimentel**: Next week").replace(
        "\n\n", "\n**Venue:** Senate Session Hall, Pasay City\n\n", 1))
    plain = page_of(context, "ph.md", SENATE_BRIEFING)
    assert [(t.speaker, t.role, [p.text for p in t.paragraphs]) for t in page.turns] == [
        (t.speaker, t.role, [p.text for p in t.paragraphs]) for t in plain.turns]
    assert Dropped("header:field") in page.lines.values()
    # A bullet before plain text is a list item of the answer, label-like or not.
    listed = page_of(context, "ph.md", SENATE_BRIEFING.replace(
        "Forty-two, all on the health budget.", "Forty-two:\n- HEALTH: thirty\n- EDUCATION: twelve"))
    assert [t.speaker for t in listed.turns] == [t.speaker for t in plain.turns]


def test_question_answer_and_a_chair_in_brackets_are_labels_of_their_roles(context):
    # Before: "Answer: ..." (used once) was text of the question above it, "Q1" an outlet of
    # its own, and "Shou Xiaoli (moderator): ..." the last answer's text.
    page = page_of(context, "mfa.txt", SPOKESPERSON_WHO_OPENS.replace(
        "Mao Ning: We have stated", "Answer: We have stated").replace("Bloomberg: Can", "Q1: Can")
        + "\nShou Xiaoli (moderator): That concludes today's press conference. Thank you.\n")
    assert [(t.speaker, t.role, t.outlet) for t in page.turns][1:5] == [
        ("Reuters", "journalist", "Reuters"), ("Mao Ning", "official", ""), ("Q", "journalist", "Q"),
        ("Mao Ning", "official", "")]
    assert (page.turns[-1].speaker, page.turns[-1].role) == ("Shou Xiaoli", "moderator")
    assert page.turns[-2].paragraphs[-1].text.startswith("The balloon")


def test_a_spokesperson_who_opens_the_conference_and_answers_briefly_is_an_official(context):
    # Before: three answers of 8 to 13 words did not count against "opens the conference and
    # gives the floor", so Mao Ning was the moderator and each answer procedural.
    page = page_of(context, "mfa.txt", SPOKESPERSON_WHO_OPENS)
    assert {(t.speaker, t.role) for t in page.turns if t.role != "journalist"} == {("Mao Ning", "official")}
    assert [t.kind for t in page.turns if t.speaker == "Mao Ning"][1:] == ["answer"] * 4
    # One short reply to a journalist that names who speaks next is no answer: the host stays the chair.
    hosted = HOST_LISTED_AS_SPEAKER.replace(
        "Xiao Yaqing:\nThe chip shortage", "Chen Wenjun:\nPlease, the lady from Bloomberg in the second row.\n\n"
        "Bloomberg:\nHow short of chips are carmakers now?\n\nXiao Yaqing:\nThe chip shortage")
    assert hosted != HOST_LISTED_AS_SPEAKER
    assert {(t.speaker, t.role) for t in page_of(context, "host.txt", hosted).turns if t.speaker == "Chen Wenjun"} == {
        ("Chen Wenjun", "moderator")}


def _long_press_conference() -> str:
    """A president's press conference of 12 exchanges: reporters named only by their names
    ask, the president answers at length and often closes with a question of his own ("Is
    that clear?"), and a chairman keeps the floor with short questions ("Next? You, sir?")."""
    lines = ["Press Conference of the President", "June 4, 2019", ""]
    reporters = ["Maria Santos", "Jose Cruz", "Ana Reyes"]
    for n in range(12):
        lines += ["CHAIRMAN NOGRALES: Next? You, sir?", "",
                  f"{reporters[n % 3]}: Mr. President, what will you do about the problem number {n + 1}?", ""]
        closing = "Is that clear?" if n % 2 == 0 else "What else can I do?"
        lines += [f"DUTERTE: We have studied problem number {n + 1} for months with the cabinet, and we "
                  f"will act on it this year with the money the Congress gave us, province by province, until "
                  f"every family that needs help gets it. {closing}", ""]
    return "\n".join(lines)


def test_roles_from_behaviour_hold_over_a_long_page_and_say_how_sure_they_are(context):
    page = page_of(context, "presser.md", _long_press_conference())
    roles = {}
    for turn in page.turns:
        roles.setdefault(turn.speaker, set()).add((turn.role, turn.role_source, turn.role_evidence))
    assert roles["Duterte"] == {("official", "inferred: answers questions",
                                           "12 answers, 0 questions, 0 hand-overs in 12 turns")}
    assert roles["Chairman Nograles"] == {("moderator", "inferred: gives the floor",
                                           "0 answers, 0 questions, 12 hand-overs in 12 turns")}
    assert {role for speaker in ("Maria Santos", "Jose Cruz", "Ana Reyes") for role, *_ in roles[speaker]} == {
        "journalist"}


GAGGLE = """\
URL: https://www.whitehouse.gov/briefing-room/press-briefings/2021/02/19/press-gaggle/
Home
Briefing Room
English | Español
Press Gaggle by Press Secretary Jen Psaki Aboard Air Force One
February 19, 2021

MS. PSAKI:  Hi, everyone. We are on our way to Michigan, where the President will visit a plant.

Q    Will he announce the new vaccine deal there today?

MS. PSAKI:  He will talk about the vaccine supply, and I will let him make the news himself.

Gina McCarthy:  Thank you. I will just add that the plant makes the vials for the vaccines.

**Jeff Zients**:  And the doses will ship next week to every state, as we said on Monday.

Q    Thank you.
"""


def test_a_title_without_title_words_after_a_menu_and_labels_used_once(context):
    page = page_of(context, "gaggle.txt", GAGGLE)
    accounted(page, GAGGLE)
    # "Press Gaggle ..." has none of the title words; the line above its date line is the title.
    assert page.title == "Press Gaggle by Press Secretary Jen Psaki Aboard Air Force One"
    assert (page.date.isoformat(), page.date_source) == ("2021-02-19", "conference_date")
    assert page.lines[1].rule == "header:before_title"  # the URL line is no speaker "Url"
    assert [t.speaker for t in page.turns] == ["Psaki", "Q", "Psaki", "Gina McCarthy", "Jeff Zients", "Q"]
