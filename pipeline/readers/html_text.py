"""The text of a saved web page, as the transcript reader reads text files.

selectolax (the lexbor HTML5 parser) builds the tree; scripts, styles, forms and the page's
navigation, header and footer elements go; every block element (paragraph, heading, list
item, table row, division) becomes a paragraph of its own, separated by a blank line, and a
``<br>`` a line break. The page's ``<title>`` is the first line, as a scrape's title line
would be, without the site's name when a heading is the part before it. Line numbers of an
HTML input in the ingest report count lines of this text.

The site's chrome goes by structure, not by a list of menu words: elements whose ARIA role or
class or id names navigation (``nav``, ``menu``, ``breadcrumb``, ``footer``, ``sidebar``,
``toolbar``, ``share``, a language switcher), and link lists, blocks of at least three links
whose text is mostly link text (the link-density rule of boilerplate removal, Kohlschütter et
al. 2010, as in jusText and readability). The page's date from its own metadata (``meta``
tags, ``time`` and date elements) is read by htmldate, without guessing from the text.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser

_REMOVED = ["script", "style", "noscript", "template", "svg", "form", "nav", "header", "footer", "iframe", "head"]
_CHROME_ROLES = ("navigation", "banner", "contentinfo", "search", "menu", "menubar", "complementary")
_CHROME_NAME = re.compile(r"(?i)(?:^|[\s_-])(nav|navbar|navigation|menu|menus|submenu|subnav|breadcrumbs?|crumbs?|"
                          r"footer|sidebar|toolbar|topbar|share|sharing|social|skip|language|lang|languages)(?:$|[\s_-])")
_LINK_LISTS = "ul, ol, div, table, section, p"
_MIN_LINKS, _LINK_DENSITY = 3, 0.8
_BLOCKS = ("p, div, h1, h2, h3, h4, h5, h6, li, tr, blockquote, section, article, pre, dd, dt, table, ul, ol, "
           "figcaption")
_BLANK_RUNS = re.compile(r"\n{3,}")
_TITLE_SEPARATORS = "-|_–—:·"


def _without_site_name(title: str, tree: LexborHTMLParser) -> str:
    """The ``<title>`` without the site's name after it ("Transcript of ... - Ministry of
    Commerce"), when a heading on the page is the part before the separator."""
    for node in tree.css("h1, h2, h3"):
        heading = " ".join(node.text().split())
        rest = title[len(heading):].lstrip() if heading and title.startswith(heading) else ""
        if rest and rest[0] in _TITLE_SEPARATORS:
            return heading
    return title


def html_text(html: str) -> str:
    """Paragraphs of the page's visible text, one blank line between blocks."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    title = _without_site_name(" ".join(title_node.text().split()) if title_node else "", tree)
    tree.strip_tags(_REMOVED)
    _strip_chrome(tree)
    for node in tree.css("br"):
        node.replace_with("\n")
    for node in tree.css(_BLOCKS):
        node.insert_before("\n\n")
        node.insert_after("\n\n")
    root = tree.body or tree.root
    body = root.text(separator="") if root else ""
    lines = [line.strip() for line in body.replace("\r", "").split("\n")]
    text = _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()
    return f"{title}\n\n{text}\n" if title else f"{text}\n"


def _strip_chrome(tree) -> None:
    """Removes navigation by its role, class or id, then link lists by their link density
    (innermost first, so a menu goes and the article that holds it stays)."""
    for node in tree.css("[role], [class], [id]"):
        attributes = node.attributes
        if (attributes.get("role") or "").lower() in _CHROME_ROLES or _CHROME_NAME.search(
                f"{attributes.get('class') or ''} {attributes.get('id') or ''}"):
            node.decompose()
    for node in reversed(tree.css(_LINK_LISTS)):
        links = node.css("a")
        if len(links) < _MIN_LINKS:
            continue
        text = len("".join(node.text(separator=" ").split()))
        linked = sum(len("".join(link.text(separator=" ").split())) for link in links)
        if text and linked / text >= _LINK_DENSITY:
            node.decompose()


def html_date(html: str) -> dt.date | None:
    """The page's date from its markup (``meta`` tags, ``time`` and date elements), by htmldate
    with its text heuristics off; None when the markup gives none."""
    from htmldate import find_date

    if "<" not in html:  # htmldate fetches a string that is a URL; a page is markup
        return None
    found = find_date(html, extensive_search=False, original_date=True)
    return dt.date.fromisoformat(found) if found else None
