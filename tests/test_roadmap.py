"""mlatlas.roadmap: the roadmap data, its links, progress figures and checklist."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from conftest import ROOT
from mlatlas.data import load_rows
from mlatlas.errors import MlatlasError
from mlatlas.roadmap import (
    MAX_NODES_PER_DIAGRAM,
    ROADMAPS,
    RoadmapNode,
    branch_diagrams,
    checklist_html,
    load_roadmap,
    load_roadmaps,
    overview_mermaid,
    progress,
    resolve_link,
    site_href,
)

DOCS = ROOT / "docs"
MY_DATA = ["papers", "trees_multimodal", "trees_hpc", *ROADMAPS]


@pytest.mark.parametrize("name", MY_DATA)
def test_every_row_has_a_source(name: str) -> None:
    """load_rows refuses a row without a source; read them all through it."""
    rows = load_rows(name)
    assert rows and all(str(r["source"]).strip() for r in rows)


def test_roadmaps_load_with_unique_ids() -> None:
    maps = load_roadmaps()
    assert [m.name for m in maps] == list(ROADMAPS)
    ids = [i for m in maps for i in m.nodes]
    assert len(ids) == len(set(ids))


def test_the_roadmaps_hold_the_seed_notes_topics() -> None:
    mle, demand, careers = load_roadmaps()
    labels = {n.label for n in mle.nodes.values()}
    assert {"Software engineering basics", "Machine-learning essentials", "Supervised learning",
            "Unsupervised learning", "Deep learning", "Recommendation systems", "Reinforcement learning",
            "Large-scale practical ML", "ML system design exercises"} <= labels
    assert len(mle.children["mle/design"]) == 19  # every design exercise of seed note 004
    ranked = sorted((b for b in demand.branches), key=lambda b: b.rank)
    assert [b.rank for b in ranked] == list(range(1, 11))
    assert demand.nodes["demand/cpp"].orgs == ("NVIDIA", "OpenAI")
    assert [b.id for b in careers.branches] == ["career/as-is", "career/modify", "career/both"]


def test_every_link_resolves_to_an_existing_page_or_an_https_url() -> None:
    for m in load_roadmaps():
        for node in m.nodes.values():
            for link in node.links:
                assert link.startswith("https://") or link.endswith(".md"), (node.id, link)
            chosen = resolve_link(node, DOCS)
            assert chosen.startswith("https://") or (DOCS / chosen).is_file(), (node.id, chosen)
            # a page still being written must not leave a node without a link
            internal = [link for link in node.links if not link.startswith("https://")]
            missing = [link for link in internal if not (DOCS / link).is_file()]
            if missing:
                assert any(link.startswith("https://") for link in node.links), (node.id, missing)


def test_existing_atlas_pages_win_over_external_links() -> None:
    node = load_roadmap().nodes["mle/attention"]
    assert resolve_link(node, DOCS) == "foundations/attention.md"
    assert resolve_link(node, ROOT / "no-such-docs") == "https://arxiv.org/abs/1706.03762"
    with pytest.raises(MlatlasError, match="none of"):
        resolve_link(RoadmapNode("x", "x", None, ("nope/page.md",), "test"), DOCS)


@pytest.mark.parametrize(
    ("target", "page", "href"),
    [
        ("foundations/attention.md", "map/roadmap.md", "../../foundations/attention/"),
        ("map/multimodal.md", "map/roadmap.md", "../multimodal/"),
        ("index.md", "map/roadmap.md", "../../"),
        ("map/index.md", "map/roadmap.md", "../"),
        ("map/roadmap.md", "map/roadmap.md", "./"),
        ("https://pytorch.org/", "map/roadmap.md", "https://pytorch.org/"),
    ],
)
def test_site_hrefs_follow_directory_urls(target: str, page: str, href: str) -> None:
    assert site_href(target, page) == href


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"id": "r", "label": "R", "parent": None, "links": ["https://x.org"], "source": "s"},
          {"id": "r", "label": "again", "parent": "r", "links": ["https://x.org"], "source": "s"}], "twice"),
        ([{"id": "r", "label": "R", "parent": None, "links": ["https://x.org"], "source": "s"},
          {"id": "a", "label": "A", "parent": "zz", "links": ["https://x.org"], "source": "s"}], "unknown parent"),
        ([{"id": "r", "label": "R", "parent": None, "links": ["https://x.org"], "source": "s"},
          {"id": "a", "label": "A", "parent": "b", "links": ["https://x.org"], "source": "s"},
          {"id": "b", "label": "B", "parent": "a", "links": ["https://x.org"], "source": "s"}], "cycle"),
        ([{"id": "r", "label": "R", "parent": None, "links": ["http://x.org"], "source": "s"}], "https"),
        ([{"id": "r", "label": "R", "parent": None, "links": [], "source": "s"}], "https"),
        ([{"id": "r", "label": "R", "parent": None, "links": ["https://x.org"], "source": "s"},
          {"id": "q", "label": "Q", "parent": None, "links": ["https://x.org"], "source": "s"}], "exactly one"),
    ],
)
def test_bad_roadmaps_are_refused(monkeypatch: pytest.MonkeyPatch, rows: list[dict], message: str) -> None:
    monkeypatch.setattr("mlatlas.roadmap.load_rows", lambda name: tuple(rows))
    with pytest.raises(MlatlasError, match=message):
        load_roadmap("bad")


def test_progress_counts_ticked_leaves_per_branch() -> None:
    m = load_roadmap()
    figures = progress(m, ["mle/python", "mle/numpy", "mle/attention", "mle/swe", "no/such/id"])
    assert figures["mle/swe"] == (2, 17)  # the branch node itself is not a topic to tick
    assert figures["mle/deep"] == (1, 9)  # attention sits one level deeper, under LLMs
    assert figures["mle/rl"] == (0, 3)
    assert sum(total for _, total in figures.values()) == len([n for n in m.nodes if not m.children[n]])


def test_diagrams_stay_small() -> None:
    for m in load_roadmaps():
        for title, source in branch_diagrams(m):
            boxes = len(re.findall(r'^\s+n_\w+\["', source, flags=re.M))
            assert boxes <= MAX_NODES_PER_DIAGRAM, (m.name, title, boxes)
    overview = overview_mermaid(load_roadmaps())
    assert "\nflowchart LR\n" in overview and "Machine-learning engineer" in overview
    assert overview.startswith("---\nconfig:\n  flowchart:\n    nodeSpacing: 8\n")


class _Checklist(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.items: list[str] = []
        self.branches: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and "data-item" in a:
            self.items.append(a["data-item"])
        if "data-branch" in a:
            self.branches.append(a["data-branch"])
        if tag == "a":
            self.hrefs.append(a["href"])


@pytest.mark.parametrize("name", list(ROADMAPS))
def test_checklist_has_a_box_per_topic_and_links_that_exist(name: str) -> None:
    m = load_roadmap(name)
    parsed = _Checklist()
    parsed.feed(checklist_html(m, page="map/roadmap.md", docs_dir=DOCS))
    leaves = [n for n in m.nodes if not m.children[n]]
    assert sorted(parsed.items) == sorted(leaves)
    assert parsed.branches == [b.id for b in m.branches]
    for href in parsed.hrefs:
        if href.startswith("https://"):
            continue
        # the page is served at map/roadmap/, so its relative links resolve from there
        target = (DOCS / "map/roadmap" / href).resolve().relative_to(DOCS.resolve())
        assert (DOCS / f"{target}.md").is_file() or (DOCS / target / "index.md").is_file(), href
