"""The small Markdown subset used in the documents' descriptions (paragraphs, bullets, code, bold) as HTML."""

from __future__ import annotations

import re
from html import escape

from markupsafe import Markup

BULLET = re.compile(r"^\s*[*-]\s+")
BOLD = re.compile(r"\*\*(.+?)\*\*")


def inline(text: str) -> str:
    """Escape text, then render `code` spans and **bold**; code spans are left untouched inside."""
    parts = text.split("`")
    out = []
    for index, part in enumerate(parts):
        # Odd segments sit between backticks; an unmatched final backtick is kept literally.
        if index % 2 == 1 and index < len(parts) - 1:
            out.append(f"<code>{escape(part)}</code>")
        else:
            prefix = "`" if index % 2 == 1 else ""
            out.append(BOLD.sub(r"<strong>\1</strong>", escape(prefix + part)))
    return "".join(out)


def inline_html(text: str) -> Markup:
    return Markup(inline(text))


def _blocks(text: str) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for line in text.strip().splitlines():
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [block for block in blocks if block]


def to_html(text: str) -> Markup:
    html: list[str] = []
    for block in _blocks(text or ""):
        if BULLET.match(block[0]):
            items: list[str] = []
            for line in block:
                if BULLET.match(line):
                    items.append(BULLET.sub("", line))
                else:
                    items[-1] += " " + line.strip()
            html.append("<ul>" + "".join(f"<li>{inline(item)}</li>" for item in items) + "</ul>")
        else:
            html.append(f"<p>{inline(' '.join(line.strip() for line in block))}</p>")
    return Markup("\n".join(html))
