"""The text of a saved web page, as the transcript reader reads text files.

selectolax (the lexbor HTML5 parser) builds the tree; scripts, styles, forms and the page's
navigation, header and footer elements go; every block element (paragraph, heading, list
item, table row, division) becomes a paragraph of its own, separated by a blank line, and a
``<br>`` a line break. The page's ``<title>`` is the first line, as a scrape's title line
would be. Line numbers of an HTML input in the ingest report count lines of this text.
"""

from __future__ import annotations

import re

_REMOVED = ["script", "style", "noscript", "template", "svg", "form", "nav", "header", "footer", "iframe", "head"]
_BLOCKS = ("p, div, h1, h2, h3, h4, h5, h6, li, tr, blockquote, section, article, pre, dd, dt, table, ul, ol, "
           "figcaption")
_BLANK_RUNS = re.compile(r"\n{3,}")


def html_text(html: str) -> str:
    """Paragraphs of the page's visible text, one blank line between blocks."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    title = " ".join(title_node.text().split()) if title_node else ""
    tree.strip_tags(_REMOVED)
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
