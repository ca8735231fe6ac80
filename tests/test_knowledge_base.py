"""The SQLite knowledge base: parsing, FTS5 ranking, safe queries, JSON queries."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from conftest import ROOT
from mlatlas import knowledge_base as kb
from mlatlas.errors import MlatlasError

PAGES = {
    "index.md": "# Home\n\nStart with [attention](topics/attention.md) or [moe](topics/moe.md).\n",
    "topics/attention.md": (
        "# Attention\n\nQueries meet keys.\n\n## The KV cache\n\nThe cache grows with every token.\n\n"
        "```python\nprint('code is not indexed: zebra')\n```\n\n"
        '--8<-- "snippets/hidden_giraffe.py"\n\n## Sources\n\nVaswani et al.\n'
    ),
    "topics/moe.md": (
        "# Mixture of experts\n\nA router picks experts; attention is elsewhere, see "
        "[attention](attention.md#the-kv-cache) and [home](../index.md).\n\n## Load balance\n\n"
        "Experts should receive similar load. Experts experts experts.\n\n## Sources\n\nShazeer.\n"
    ),
}


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    for name, text in PAGES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.fixture(scope="module")
def site() -> object:
    conn = kb.build(ROOT / "docs")
    yield conn
    conn.close()


def test_parse_strips_code_and_includes_and_resolves_links(docs: Path) -> None:
    pages = {p.path: p for p in kb.read_pages(docs)}
    attention = pages["topics/attention.md"]
    assert attention.title == "Attention"
    assert attention.headings == ("The KV cache", "Sources")
    assert "zebra" not in attention.text and "giraffe" not in attention.text
    assert pages["topics/moe.md"].links == ("topics/attention.md", "index.md")
    assert pages["index.md"].links == ("topics/attention.md", "topics/moe.md")


def test_schema_has_fts5_and_json_tables(docs: Path) -> None:
    conn = kb.build(docs)
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"pages", "pages_fts"} <= names
    assert conn.execute("SELECT count(*) FROM pages").fetchone() == (3,)
    with pytest.raises(Exception, match="CHECK"):
        conn.execute("INSERT INTO pages (path, title, meta) VALUES ('x', 'x', 'not json')")


def test_title_match_ranks_first(docs: Path) -> None:
    conn = kb.build(docs)
    hits = kb.search(conn, "attention")
    assert [h.path for h in hits][0] == "topics/attention.md"
    assert {h.path for h in hits} == {"index.md", "topics/attention.md", "topics/moe.md"}
    assert hits[0].title == "[Attention]"
    assert [h.score for h in hits] == sorted(h.score for h in hits)
    assert kb.search(conn, "zebra") == []


def test_porter_stemming_and_snippet(docs: Path) -> None:
    conn = kb.build(docs)
    (hit,) = kb.search(conn, "balancing")  # stems to "balanc", like "balance"
    assert hit.path == "topics/moe.md"
    (hit,) = kb.search(conn, "grows")
    assert "[grows]" in hit.snippet


@pytest.mark.parametrize(
    ("query", "expected"),
    [("relief", "labs/extrusion.md"), ("scaling laws", "foundations/scaling-laws.md")],
)
def test_title_match_ranks_first_on_the_site(site, query: str, expected: str) -> None:
    assert kb.search(site, query)[0].path == expected


def test_query_syntax_and_quotes_are_searched_as_words(docs: Path) -> None:
    conn = kb.build(docs)
    nasty = "Queries' \"meet) AND (NOT keys* title: ; DROP TABLE pages; --"
    assert kb.fts_query(nasty) == '"Queries" "meet" "AND" "NOT" "keys" "title" "DROP" "TABLE" "pages"'
    assert kb.search(conn, nasty) == []  # every word required: "drop" is in no page
    assert [h.path for h in kb.search(conn, "queries' (meet) keys*")] == ["topics/attention.md"]
    assert conn.execute("SELECT count(*) FROM pages").fetchone() == (3,)


@pytest.mark.parametrize("query", ["", "   ", '"" () * :', "--"])
def test_a_query_without_words_is_refused(docs: Path, query: str) -> None:
    conn = kb.build(docs)
    with pytest.raises(MlatlasError, match="no word"):
        kb.search(conn, query)


def test_bad_arguments_are_refused(docs: Path, tmp_path: Path) -> None:
    conn = kb.build(docs)
    with pytest.raises(MlatlasError, match="limit"):
        kb.search(conn, "attention", limit=0)
    with pytest.raises(MlatlasError, match="limit"):
        kb.most_linked(conn, limit=0)
    with pytest.raises(MlatlasError, match="empty"):
        kb.pages_with_heading(conn, " ")
    with pytest.raises(MlatlasError, match="does not exist"):
        kb.build(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MlatlasError, match="no .md"):
        kb.build(tmp_path / "empty")
    existing = tmp_path / "kb.sqlite"
    existing.write_text("")
    with pytest.raises(MlatlasError, match="exists already"):
        kb.build(docs, existing)


def test_file_database(docs: Path, tmp_path: Path) -> None:
    conn = kb.build(docs, tmp_path / "kb.sqlite")
    conn.close()
    import sqlite3

    again = sqlite3.connect(tmp_path / "kb.sqlite")
    assert kb.search(again, "experts")[0].path == "topics/moe.md"


def test_json_queries_agree_with_python_on_the_site(site) -> None:
    pages = kb.read_pages(ROOT / "docs")
    expected = sorted(((p.path, p.words) for p in pages if p.words >= 500), key=lambda t: (-t[1], t[0]))
    assert kb.long_pages(site, 500) == expected
    assert kb.pages_with_heading(site, "SOURCES") == [
        (p.path, h) for p in pages for h in p.headings if "sources" in h.lower()
    ]
    counts = Counter(link for p in pages for link in p.links if link != p.path)
    assert kb.most_linked(site, 5) == sorted(counts.items(), key=lambda t: (-t[1], t[0]))[:5]


def test_json_queries_on_the_fixture(docs: Path) -> None:
    conn = kb.build(docs)
    assert kb.pages_with_heading(conn, "kv") == [("topics/attention.md", "The KV cache")]
    assert kb.most_linked(conn, 1) == [("topics/attention.md", 2)]


def test_mongo_style_filter_agrees_with_sql(site) -> None:
    documents = [{"path": p.path, "title": p.title, **p.meta()} for p in kb.read_pages(ROOT / "docs")]
    found = kb.find(documents, {"words": {"$gte": 500}})
    assert sorted(d["path"] for d in found) == sorted(path for path, _ in kb.long_pages(site, 500))
    linking = kb.find(documents, {"links": "foundations/attention.md"})
    sql = site.execute(
        "SELECT p.path FROM pages AS p, json_each(p.meta, '$.links') AS l WHERE l.value = ? ORDER BY p.path",
        ("foundations/attention.md",),
    ).fetchall()
    assert [d["path"] for d in linking] == [row[0] for row in sql]


def test_matcher_semantics() -> None:
    doc = {"a": 3, "tags": ["x", "y"], "n": {"b": "z"}}
    assert kb.matches(doc, {})
    assert kb.matches(doc, {"a": 3, "n.b": "z", "tags": "y"})
    assert kb.matches(doc, {"a": {"$gt": 2, "$lte": 3}, "tags": {"$in": ["y", "q"]}})
    assert not kb.matches(doc, {"a": {"$lt": 3}})
    assert not kb.matches(doc, {"tags": {"$ne": "x"}})
    assert kb.matches(doc, {"tags": {"$ne": "q"}, "missing": None})
    assert not kb.matches(doc, {"missing": {"$gt": 0}})
    assert kb.matches(doc, {"tags": ["x", "y"]})
    with pytest.raises(MlatlasError, match=r"\$where"):
        kb.matches(doc, {"a": {"$where": "1"}})
