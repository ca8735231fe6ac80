"""A searchable knowledge base of the atlas's own pages, in SQLite.

:func:`build` reads every ``*.md`` file under a docs folder, turns each into a
:class:`Page` (title, section headings, plain text, outgoing links) and stores them in
an SQLite database with two tables:

- ``pages``: one row per page, with a ``meta`` column holding a JSON document
  (headings, word count, links) that SQLite's JSON functions query in place;
- ``pages_fts``: an FTS5 full-text index over title, headings and body, with the
  ``porter unicode61`` tokenizer (Unicode-aware words, reduced to their stems).

:func:`search` ranks pages with FTS5's ``bm25()`` and shows the matching passage with
``snippet()`` and ``highlight()``. Every query binds its values as parameters; text
typed by a user reaches FTS5 only through :func:`fts_query`, which keeps its words
and quotes each one, so quotes, ``AND``/``OR``/``NOT``, ``*``, ``:`` and parentheses
are searched for as words instead of being read as query syntax.

:func:`find` evaluates a MongoDB-style filter (a dict such as
``{"words": {"$gte": 500}}``) over plain Python documents, to contrast a document
database's query style with SQL over a JSON column.

Example:
    >>> fts_query('kv "cache" OR attention*')
    '"kv" "cache" "OR" "attention"'
"""

from __future__ import annotations

import json
import posixpath
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlatlas.errors import MlatlasError

SCHEMA = """
CREATE TABLE pages (
    id    INTEGER PRIMARY KEY,
    path  TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    meta  TEXT NOT NULL CHECK (json_valid(meta))
);
CREATE VIRTUAL TABLE pages_fts USING fts5(
    title, headings, body,
    tokenize = 'porter unicode61'
);
"""
"""The database schema: a plain table with a JSON column, and the FTS5 index.

The FTS5 row for a page has the same ``rowid`` as its ``pages.id``, which is how a
search joins back to the page's path and metadata.
"""

WEIGHTS = (10.0, 5.0, 1.0)
"""``bm25()`` weights of the title, headings and body columns: a hit in a title
counts ten times a hit in the body."""

_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LINK = re.compile(r"!?\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Page:
    """One page of the site, reduced to what the knowledge base stores.

    Attributes:
        path: Path relative to the docs folder, with ``/`` separators.
        title: Text of the first ``# `` heading (the file name if there is none).
        headings: Texts of the ``##`` to ``######`` headings, in order.
        text: Plain text: code fences, includes, HTML tags and markup removed.
        links: Pages this one links to, as paths relative to the docs folder.
    """

    path: str
    title: str
    headings: tuple[str, ...]
    text: str
    links: tuple[str, ...]

    @property
    def words(self) -> int:
        """Number of words in the plain text."""
        return len(_WORD.findall(self.text))

    def meta(self) -> dict[str, Any]:
        """The JSON document stored in ``pages.meta``."""
        return {"headings": list(self.headings), "words": self.words, "links": list(self.links)}


@dataclass(frozen=True)
class Hit:
    """One search result.

    Attributes:
        path: The page's path relative to the docs folder.
        title: The title, with matched words wrapped in ``[`` and ``]``.
        score: The ``bm25()`` score; more negative is a better match.
        snippet: A short passage of the body around the matches.
    """

    path: str
    title: str
    score: float
    snippet: str


def parse_page(markdown: str, path: str) -> Page:
    """Reduce one page's Markdown to a :class:`Page`.

    Args:
        markdown: The page's source text.
        path: Its path relative to the docs folder, used to resolve relative links.

    Returns:
        The page's title, headings, plain text and internal links.

    Example:
        >>> page = parse_page("# KV cache\\n\\nSee [attention](attention.md).\\n", "a/kv.md")
        >>> page.title, page.text, page.links
        ('KV cache', 'See attention.', ('a/attention.md',))
    """
    title = ""
    headings: list[str] = []
    lines: list[str] = []
    links: list[str] = []
    fence: str | None = None
    for line in markdown.splitlines():
        opener = _FENCE.match(line)
        if fence is not None:
            if opener and opener.group(2)[0] == fence[0] and len(opener.group(2)) >= len(fence):
                fence = None
            continue
        if opener:
            fence = opener.group(2)
            continue
        if line.lstrip().startswith("--8<--"):
            continue
        heading = _HEADING.match(line)
        if heading:
            text = " ".join(_inline_text(heading.group(2), path, links).split())
            if len(heading.group(1)) == 1 and not title:
                title = text
            else:
                headings.append(text)
            continue
        lines.append(_inline_text(line, path, links))
    text = " ".join(" ".join(lines).split())
    return Page(path, title or Path(path).stem, tuple(headings), text, tuple(dict.fromkeys(links)))


def _inline_text(line: str, path: str, links: list[str]) -> str:
    """One line of Markdown as plain text, collecting the pages its links point to."""

    def link(match: re.Match[str]) -> str:
        target = match.group(2).split("#", 1)[0]
        if target.endswith(".md") and "://" not in target:
            links.append(posixpath.normpath(posixpath.join(posixpath.dirname(path), target)))
        return match.group(1)

    line = _LINK.sub(link, line)
    line = re.sub(r"<[^>]+>", " ", line)
    line = re.sub(r"^\s*(!!!|\?\?\?\+?)\s*\w+", " ", line)
    return re.sub(r"[`*_|>]", " ", line) if not line.strip().startswith("|---") else ""


def read_pages(docs: str | Path) -> list[Page]:
    """Read every ``*.md`` file under a docs folder, sorted by path.

    Args:
        docs: The folder, for example ``"docs"`` from the repository root.

    Returns:
        One :class:`Page` per Markdown file.

    Raises:
        MlatlasError: If the folder does not exist or holds no Markdown file.
    """
    root = Path(docs)
    if not root.is_dir():
        raise MlatlasError(f"docs folder {str(root)!r} does not exist")
    files = sorted(root.rglob("*.md"))
    if not files:
        raise MlatlasError(f"docs folder {str(root)!r} holds no .md file")
    return [parse_page(f.read_text(encoding="utf-8"), f.relative_to(root).as_posix()) for f in files]


def build(docs: str | Path, database: str | Path = ":memory:") -> sqlite3.Connection:
    """Build the knowledge base of a docs folder.

    Args:
        docs: The docs folder to index.
        database: Where SQLite keeps it: ``":memory:"`` (the default) or a file path,
            which must not exist yet.

    Returns:
        An open connection holding the ``pages`` and ``pages_fts`` tables.

    Raises:
        MlatlasError: If the docs folder is missing or empty, the database file exists
            already, or this SQLite was built without FTS5 or JSON support.
    """
    pages = read_pages(docs)
    if str(database) != ":memory:" and Path(database).exists():
        raise MlatlasError(f"database file {str(database)!r} exists already")
    conn = sqlite3.connect(database)
    try:
        conn.executescript(SCHEMA)
    except sqlite3.OperationalError as err:
        conn.close()
        raise MlatlasError(f"this SQLite cannot build the knowledge base: {err}") from err
    with conn:
        for page in pages:
            cursor = conn.execute(
                "INSERT INTO pages (path, title, meta) VALUES (?, ?, ?)",
                (page.path, page.title, json.dumps(page.meta())),
            )
            conn.execute(
                "INSERT INTO pages_fts (rowid, title, headings, body) VALUES (?, ?, ?, ?)",
                (cursor.lastrowid, page.title, "\n".join(page.headings), page.text),
            )
    return conn


def fts_query(text: str) -> str:
    """Turn free text into a safe FTS5 query: every word quoted, all of them required.

    FTS5 has its own query language (``AND``, ``OR``, ``NOT``, ``NEAR``, ``"phrases"``,
    ``prefix*``, ``column:term``, parentheses). Text typed by a user is not meant in
    that language, and a stray quote or parenthesis is a syntax error. So only the
    words are kept and each becomes a quoted string, which FTS5 treats as a plain
    term; the terms are joined by spaces, which FTS5 reads as ``AND``.

    Args:
        text: What the user typed.

    Returns:
        The FTS5 query, to be bound as a parameter of ``MATCH ?``.

    Raises:
        MlatlasError: If the text holds no word at all.

    Example:
        >>> fts_query("it's (NOT) title:MoE")
        '"it" "s" "NOT" "title" "MoE"'
    """
    words = _WORD.findall(text)
    if not words:
        raise MlatlasError(f"search query {text!r} holds no word to search for")
    return " ".join(f'"{word}"' for word in words)


def search(conn: sqlite3.Connection, query: str, limit: int = 5) -> list[Hit]:
    """Full-text search, best match first.

    Args:
        conn: A connection from :func:`build`.
        query: Free text; see :func:`fts_query` for how it is read.
        limit: Most results to return.

    Returns:
        The matching pages ordered by ``bm25()`` (title hits weighted by
        :data:`WEIGHTS`), each with its title highlighted and a body snippet.

    Raises:
        MlatlasError: If the query holds no word or ``limit`` is not positive.
    """
    if limit < 1:
        raise MlatlasError(f"limit must be positive, got {limit}")
    sql = """
        SELECT p.path,
               highlight(pages_fts, 0, '[', ']'),
               bm25(pages_fts, ?, ?, ?) AS score,
               snippet(pages_fts, 2, '[', ']', '…', 10)
        FROM pages_fts JOIN pages AS p ON p.id = pages_fts.rowid
        WHERE pages_fts MATCH ?
        ORDER BY score, p.path
        LIMIT ?
    """
    rows = conn.execute(sql, (*WEIGHTS, fts_query(query), limit)).fetchall()
    return [Hit(path, title, score, snippet) for path, title, score, snippet in rows]


def long_pages(conn: sqlite3.Connection, min_words: int) -> list[tuple[str, int]]:
    """Pages with at least ``min_words`` words, longest first, via ``json_extract``.

    Args:
        conn: A connection from :func:`build`.
        min_words: The threshold.

    Returns:
        ``(path, words)`` pairs.
    """
    sql = """
        SELECT path, json_extract(meta, '$.words') AS words
        FROM pages
        WHERE json_extract(meta, '$.words') >= ?
        ORDER BY words DESC, path
    """
    return [(path, words) for path, words in conn.execute(sql, (min_words,))]


def pages_with_heading(conn: sqlite3.Connection, word: str) -> list[tuple[str, str]]:
    """Section headings that contain a word (any case), via ``json_each``.

    ``json_each`` turns the ``headings`` array of every page's metadata into rows,
    so an ordinary ``WHERE`` can filter the array's elements.

    Args:
        conn: A connection from :func:`build`.
        word: The word to look for, matched as a substring.

    Returns:
        ``(path, heading)`` pairs in page order, then heading order.

    Raises:
        MlatlasError: If ``word`` is blank.
    """
    if not word.strip():
        raise MlatlasError("the heading word to look for is empty")
    sql = """
        SELECT p.path, h.value
        FROM pages AS p, json_each(p.meta, '$.headings') AS h
        WHERE instr(lower(h.value), lower(?)) > 0
        ORDER BY p.path, h.key
    """
    return [(path, heading) for path, heading in conn.execute(sql, (word.strip(),))]


def most_linked(conn: sqlite3.Connection, limit: int = 5) -> list[tuple[str, int]]:
    """Pages that the most other pages link to, via ``json_each`` over ``links``.

    Args:
        conn: A connection from :func:`build`.
        limit: Most rows to return.

    Returns:
        ``(target path, number of pages linking to it)`` pairs, most linked first.

    Raises:
        MlatlasError: If ``limit`` is not positive.
    """
    if limit < 1:
        raise MlatlasError(f"limit must be positive, got {limit}")
    sql = """
        SELECT l.value AS target, count(*) AS n
        FROM pages AS p, json_each(p.meta, '$.links') AS l
        WHERE l.value != p.path
        GROUP BY target
        ORDER BY n DESC, target
        LIMIT ?
    """
    return [(target, n) for target, n in conn.execute(sql, (limit,))]


_OPERATORS = {
    "$eq": lambda a, b: a == b,
    "$ne": lambda a, b: a != b,
    "$gt": lambda a, b: a is not None and a > b,
    "$gte": lambda a, b: a is not None and a >= b,
    "$lt": lambda a, b: a is not None and a < b,
    "$lte": lambda a, b: a is not None and a <= b,
    "$in": lambda a, b: a in b,
}


def matches(document: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
    """Whether a document satisfies a MongoDB-style filter (a small subset).

    Supported: implicit equality (``{"title": "Attention"}``), the comparison
    operators ``$eq``, ``$ne``, ``$gt``, ``$gte``, ``$lt``, ``$lte``, ``$in``, and
    dotted paths into nested documents. As in MongoDB, a condition on an array field
    holds when any element satisfies it (except ``$ne``, which needs all to differ),
    and the conditions of a filter are combined with AND.

    Args:
        document: A JSON-like document.
        query: The filter.

    Returns:
        True if every condition holds.

    Raises:
        MlatlasError: On an operator outside the subset.

    Example:
        >>> doc = {"title": "MoE", "meta": {"words": 900, "links": ["a.md", "b.md"]}}
        >>> matches(doc, {"meta.words": {"$gte": 500}, "meta.links": "b.md"})
        True
    """
    for field, condition in query.items():
        value = _get(document, field)
        tests = condition.items() if isinstance(condition, Mapping) else [("$eq", condition)]
        for op, operand in tests:
            if op not in _OPERATORS:
                raise MlatlasError(f"unsupported filter operator {op!r}")
            check = _OPERATORS[op]
            if not isinstance(value, list):
                held = _safe(check, value, operand)
            elif op == "$ne":
                held = value != operand and all(_safe(check, v, operand) for v in value)
            else:
                whole = op in ("$eq", "$in") and _safe(check, value, operand)
                held = whole or any(_safe(check, v, operand) for v in value)
            if not held:
                return False
    return True


def _safe(check: Any, value: Any, operand: Any) -> bool:
    """A comparison that is simply false between values of types that do not compare."""
    try:
        return bool(check(value, operand))
    except TypeError:
        return False


def _get(document: Mapping[str, Any], field: str) -> Any:
    """The value at a dotted path, or None where the path does not exist."""
    value: Any = document
    for key in field.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def find(documents: Iterable[Mapping[str, Any]], query: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The documents that satisfy a filter, in their given order (like ``find()``).

    Args:
        documents: JSON-like documents.
        query: A filter as accepted by :func:`matches`.

    Returns:
        The matching documents.

    Raises:
        MlatlasError: On an operator outside the supported subset.
    """
    return [doc for doc in documents if matches(doc, query)]
