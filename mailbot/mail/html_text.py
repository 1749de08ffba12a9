"""HTML → plain text in one pass, linear in the size of the markup.

Decides how an HTML part reads as text: block tags become line breaks, table cells " | "
("Name:" | "Jane" reads as the form line "Name: Jane"), style, script, head and title are
dropped, character references decoded. The stdlib `HTMLParser` is not used: it rescans the
rest of the document at every unclosed `<!--`, `<a`, `</` or `<?` (200 kB took minutes). Here
every search either finds what it looks for, and moves past it, or proves that nothing of the
kind is left, which is remembered. A caller may stop the conversion after `max_tags` tags
(each costs ~2 µs; markup made only of tags is the worst case).

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import html
import re

_BLOCK = frozenset(
    {"p", "div", "tr", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote"}
)
_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6"})
_SKIP = frozenset({"style", "script", "head", "title"})
_RAW_TEXT = frozenset({"style", "script"})  # their content is not markup
_SPACES = re.compile(r"[ \t\r\n\f]+")
_TAG_NAME = re.compile(r"[A-Za-z][^\s/>]*")
_TAG_STOP = re.compile(r"[>\"']")
_RAW_END = {name: re.compile(rf"</{name}[\s/>]", re.IGNORECASE) for name in _RAW_TEXT}


class _Finder:
    """`str.find` that remembers where a needle no longer occurs, so no search repeats."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.none_after: dict[str, int] = {}

    def find(self, needle: str, start: int) -> int:
        if start >= self.none_after.get(needle, len(self.text) + 1):
            return -1
        found = self.text.find(needle, start)
        if found < 0:
            self.none_after[needle] = start
        return found

    def search(self, pattern: re.Pattern[str], start: int) -> int:
        key = pattern.pattern
        if start >= self.none_after.get(key, len(self.text) + 1):
            return -1
        m = pattern.search(self.text, start)
        if m is None:
            self.none_after[key] = start
            return -1
        return m.start()


class _Text:
    """The text being written, with the table and skipping state of the converter."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.skip = 0
        self.cells_in_row = 0
        self.cell_start = 0

    def data(self, raw: str) -> None:
        if not self.skip and raw:
            self.out.append(_SPACES.sub(" ", html.unescape(raw)))

    def newline(self) -> None:
        for chunk in reversed(self.out):
            if chunk:
                if not chunk.endswith("\n"):
                    self.out.append("\n")
                return

    def start(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag == "tr":
            self.newline()
            self.cells_in_row = 0
        elif tag in ("td", "th"):
            if self.cells_in_row:
                last = "".join(self.out[self.cell_start :]).rstrip()
                self.out.append(" " if last.endswith(":") else " | ")
            self.cells_in_row += 1
            self.cell_start = len(self.out)
        elif tag in _BLOCK:
            self.newline()

    def end(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _PARAGRAPH:
            self.newline()
            self.out.append("\n")
        elif tag in _BLOCK:
            self.newline()


def _tag_end(finder: _Finder, pos: int) -> int:
    """Index of the `>` closing the tag opened before `pos` (quoted values may hold `>`)."""
    text = finder.text
    while True:
        stop = finder.search(_TAG_STOP, pos)
        if stop < 0 or text[stop] == ">":
            return stop
        close = finder.find(text[stop], stop + 1)
        if close < 0:  # an unclosed quote: the tag ends at the next '>' after all
            return finder.find(">", stop + 1)
        pos = close + 1


def html_to_text(markup: str, max_tags: int | None = None) -> str:
    """A small HTML → text converter: block tags become newlines, table cells ' | '; the text
    before the `max_tags`-th tag when given."""
    finder = _Finder(markup)
    out = _Text()
    pos, size = 0, len(markup)
    tags = 0
    while pos < size:
        tags += 1
        if max_tags is not None and tags > max_tags:
            break
        lt = finder.find("<", pos)
        if lt < 0:
            out.data(markup[pos:])
            break
        out.data(markup[pos:lt])
        nxt = markup[lt + 1 : lt + 2]
        if markup.startswith("<!--", lt):
            close = finder.find("-->", lt + 4)
            pos = size if close < 0 else close + 3
        elif nxt in ("!", "?") or (nxt == "/" and not _TAG_NAME.match(markup, lt + 2)):
            close = finder.find(">", lt + 2)  # declaration, processing instruction, bogus
            pos = size if close < 0 else close + 1
        elif (m := _TAG_NAME.match(markup, lt + 2 if nxt == "/" else lt + 1)) is None:
            out.data("<")  # "a < b": text
            pos = lt + 1
        else:
            close = _tag_end(finder, m.end())
            if close < 0:  # no '>' left anywhere: the rest is text, as browsers show it
                out.data(markup[lt:])
                break
            tag = m.group(0).lower()
            pos = close + 1
            if nxt == "/":
                out.end(tag)
            elif markup[close - 1] == "/":  # <br/>: of the self-closed tags only br counts
                if tag == "br":
                    out.start(tag)
            else:
                out.start(tag)
                if tag in _RAW_TEXT:
                    end = finder.search(_RAW_END[tag], pos)
                    pos = size if end < 0 else end
    text = "".join(out.out)
    lines = [line.strip() for line in text.replace("\xa0", " ").split("\n")]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip()
