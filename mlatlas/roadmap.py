"""The skills roadmap: what to learn, where it is taught, and how far a reader got.

A roadmap is a tree of topics read from a data file: the roadmap itself at the root,
its *branches* below it (software engineering, deep learning, ...), topics under
those. Every node names where it is taught, best first: a page of this atlas if one
exists, else an authoritative external resource.

Read this module top to bottom:

1. :class:`RoadmapNode` and :func:`load_roadmap`, the data and its checks;
2. :func:`resolve_link` and :func:`site_href`, from a node to the URL a page shows;
3. :func:`progress`, the share of each branch a reader has ticked;
4. :func:`to_tree`, :func:`overview_mermaid` and :func:`branch_diagrams`, the
   roadmaps drawn as mermaid diagrams (via :mod:`mlatlas.trees`);
5. :func:`checklist_html`, the roadmap as a checklist a reader can tick; the page's
   script (``docs/javascripts/checklist.js``) keeps the ticks in the browser and
   recomputes the same progress figures as :func:`progress`.
"""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mlatlas import trees
from mlatlas.data import load_rows
from mlatlas.errors import MlatlasError

ROADMAPS = {
    "roadmap": "seed note 004, a machine-learning-engineer roadmap",
    "roadmap_demand": "seed note 000, the skills most in demand in 2025",
    "roadmap_careers": "seed note 003, career paths in generative AI",
}
"""The roadmap data files (``mlatlas/data/<name>.yaml``) and what each one is."""

# ---------------------------------------------------------------------------
# 1. The data
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RoadmapNode:
    """One topic of a roadmap.

    Attributes:
        id: Unique across all roadmaps; a reader's ticks are stored under it.
        label: The topic's name.
        parent: The id of the node above, ``None`` for the roadmap itself.
        links: Where the topic is taught, best first: ``section/page.md`` paths in
            ``docs/`` or ``https://`` URLs.
        source: The seed note (and primary source) the node comes from.
        rank: Position in a ranked list, if the roadmap is one.
        orgs: Organisations the seed note names for this topic.
    """

    id: str
    label: str
    parent: str | None
    links: tuple[str, ...]
    source: str
    rank: int | None = None
    orgs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Roadmap:
    """A roadmap: its nodes in file order and who is whose child.

    Attributes:
        name: The data file's stem, for example ``"roadmap"``.
        nodes: Nodes by id, in file order.
        children: Node id to the ids of its children, in file order.
    """

    name: str
    nodes: Mapping[str, RoadmapNode]
    children: Mapping[str, tuple[str, ...]]

    @property
    def root(self) -> RoadmapNode:
        """The roadmap's own node (the one without a parent)."""
        return next(n for n in self.nodes.values() if n.parent is None)

    @property
    def branches(self) -> list[RoadmapNode]:
        """The root's children: the parts a reader's progress is counted by."""
        return [self.nodes[i] for i in self.children[self.root.id]]

    def leaves(self, node_id: str) -> list[RoadmapNode]:
        """The topics without children under ``node_id`` (itself, if it has none)."""
        below = self.children[node_id]
        if not below:
            return [self.nodes[node_id]]
        return [leaf for child in below for leaf in self.leaves(child)]


_LINK = re.compile(r"^(https://\S+|[a-z0-9_-]+(/[a-z0-9_.-]+)*\.md)$")


def load_roadmap(name: str = "roadmap") -> Roadmap:
    """Read and check one roadmap data file.

    Args:
        name: The file's stem; one of :data:`ROADMAPS`.

    Raises:
        MlatlasError: On a duplicate id, a parent that is not in the file, not
            exactly one root, a cycle, or a node without a usable link (every link
            must be an ``https://`` URL or a ``docs/``-relative ``.md`` path).
    """
    rows = load_rows(name)
    nodes: dict[str, RoadmapNode] = {}
    for i, row in enumerate(rows):
        node = RoadmapNode(
            id=str(row.get("id", "")),
            label=str(row.get("label", "")),
            parent=row.get("parent"),
            links=tuple(row.get("links") or ()),
            source=str(row["source"]),
            rank=row.get("rank"),
            orgs=tuple(row.get("orgs") or ()),
        )
        if not node.id or not node.label:
            raise MlatlasError(f"mlatlas/data/{name}.yaml row {i} needs an id and a label")
        if node.id in nodes:
            raise MlatlasError(f"mlatlas/data/{name}.yaml: id {node.id!r} appears twice")
        if not node.links or not all(_LINK.match(link) for link in node.links):
            raise MlatlasError(
                f"mlatlas/data/{name}.yaml: node {node.id!r} needs links that are https URLs or docs pages"
            )
        nodes[node.id] = node
    roots = [n.id for n in nodes.values() if n.parent is None]
    if len(roots) != 1:
        raise MlatlasError(f"mlatlas/data/{name}.yaml must have exactly one node without a parent, has {roots}")
    children: dict[str, list[str]] = {i: [] for i in nodes}
    for node in nodes.values():
        if node.parent is not None:
            if node.parent not in nodes:
                raise MlatlasError(f"mlatlas/data/{name}.yaml: {node.id!r} has unknown parent {node.parent!r}")
            children[node.parent].append(node.id)
    reachable, todo = set(), [roots[0]]
    while todo:
        reachable.add(todo[-1])
        todo.extend(children[todo.pop()])
    if reachable != set(nodes):
        raise MlatlasError(f"mlatlas/data/{name}.yaml: {sorted(set(nodes) - reachable)[0]!r} is in a cycle")
    return Roadmap(name, nodes, {k: tuple(v) for k, v in children.items()})


def load_roadmaps() -> list[Roadmap]:
    """Every roadmap of :data:`ROADMAPS`, checking that ids are unique across them."""
    maps = [load_roadmap(name) for name in ROADMAPS]
    seen: dict[str, str] = {}
    for m in maps:
        for node_id in m.nodes:
            if node_id in seen:
                raise MlatlasError(f"id {node_id!r} is in both {seen[node_id]} and {m.name}")
            seen[node_id] = m.name
    return maps


# ---------------------------------------------------------------------------
# 2. Links
# ---------------------------------------------------------------------------


def resolve_link(node: RoadmapNode, docs_dir: Path | str = "docs") -> str:
    """Where the node sends a reader: the first of its links that can be followed.

    An atlas page counts only if ``docs_dir/<page>`` exists, so a node can name a
    page that is still being written and fall back to an external resource until
    it is there.

    Returns:
        A ``docs``-relative ``.md`` path, or an ``https://`` URL.

    Raises:
        MlatlasError: If no link of the node can be followed.
    """
    for link in node.links:
        if link.startswith("https://") or (Path(docs_dir) / link).is_file():
            return link
    raise MlatlasError(f"roadmap node {node.id!r}: none of {list(node.links)} exists")


def site_href(target: str, page: str) -> str:
    """The URL of a link from one page of the built site to another.

    The site uses directory URLs (``foundations/attention.md`` is served at
    ``foundations/attention/``), and HTML that a snippet prints is not rewritten by
    MkDocs, so the relative URL is computed here. External URLs pass unchanged.

    >>> site_href("foundations/attention.md", "map/roadmap.md")
    '../../foundations/attention/'
    >>> site_href("https://pytorch.org/tutorials/", "map/roadmap.md")
    'https://pytorch.org/tutorials/'
    """
    if target.startswith("https://"):
        return target

    def url(md: str) -> str:
        stem = md[: -len(".md")]
        if stem == "index" or stem.endswith("/index"):
            stem = stem[: -len("index")].rstrip("/")
        return stem + "/" if stem else ""

    rel = posixpath.relpath(url(target) or ".", url(page) or ".")
    return "./" if rel == "." else rel + "/"


# ---------------------------------------------------------------------------
# 3. Progress
# ---------------------------------------------------------------------------


def progress(roadmap: Roadmap, ticked: Iterable[str]) -> dict[str, tuple[int, int]]:
    """How many topics of each branch a reader has ticked.

    Only topics without children can be ticked; a branch's figure counts those
    under it. The page's script computes the same figures in the browser.

    Args:
        roadmap: The roadmap.
        ticked: Ids of the ticked topics (unknown ids are ignored).

    Returns:
        Branch id to ``(ticked, total)``.
    """
    done = set(ticked)
    out = {}
    for branch in roadmap.branches:
        leaves = roadmap.leaves(branch.id)
        out[branch.id] = (sum(leaf.id in done for leaf in leaves), len(leaves))
    return out


# ---------------------------------------------------------------------------
# 4. Diagrams
# ---------------------------------------------------------------------------

MAX_NODES_PER_DIAGRAM = 30
"""A roadmap with at most this many nodes is drawn as one diagram, a larger one as one
diagram per branch: beyond about thirty boxes a flowchart stops being readable at
normal zoom."""


FAN_LAYOUT = {"nodeSpacing": 8, "rankSpacing": 40, "wrappingWidth": 260}
"""Mermaid settings for the roadmap diagrams: a roadmap is a fan of many short labels,
which mermaid's defaults spread over twice the height."""


def to_tree(roadmap: Roadmap, top: str | None = None, depth: int | None = None) -> trees.Tree:
    """The roadmap (or the part under ``top``) as a :class:`mlatlas.trees.Tree`.

    Args:
        roadmap: The roadmap.
        top: The node to start from; the root by default.
        depth: How many levels below ``top`` to keep; all by default.
    """
    top = top or roadmap.root.id
    nodes, edges, todo = [], [], [(top, 0)]
    while todo:
        node_id, level = todo.pop(0)
        nodes.append({"id": node_id, "label": roadmap.nodes[node_id].label})
        if depth is None or level < depth:
            for child in roadmap.children[node_id]:
                edges.append((node_id, child))
                todo.append((child, level + 1))
    return trees.Tree.build(roadmap.name, nodes, edges)


def overview_mermaid(roadmaps: Iterable[Roadmap]) -> str:
    """One diagram of every roadmap with its branches (one level deep)."""
    merged = trees.merge([to_tree(m, depth=1) for m in roadmaps], name="roadmaps")
    # merge() sorts by key; keep the data files' order, which is the reading order.
    order = [n for m in roadmaps for n in [m.root.id, *m.children[m.root.id]]]
    ordered = trees.Tree(
        merged.name,
        {k: merged.nodes[k] for k in order},
        tuple(sorted(merged.edges, key=lambda e: (order.index(e.source), order.index(e.target)))),
    )
    return trees.to_mermaid(ordered, "LR", layout=FAN_LAYOUT)


def branch_diagrams(roadmap: Roadmap) -> list[tuple[str, str]]:
    """The diagrams that draw a roadmap: ``(title, mermaid source)`` pairs.

    A roadmap of at most :data:`MAX_NODES_PER_DIAGRAM` nodes is one diagram; a
    larger one is one diagram per branch.
    """
    if len(roadmap.nodes) <= MAX_NODES_PER_DIAGRAM:
        return [(roadmap.root.label, trees.to_mermaid(to_tree(roadmap), "LR", layout=FAN_LAYOUT))]
    return [(b.label, trees.to_mermaid(to_tree(roadmap, b.id), "LR", layout=FAN_LAYOUT)) for b in roadmap.branches]


# ---------------------------------------------------------------------------
# 5. The checklist
# ---------------------------------------------------------------------------


def _link_text(link: str) -> str:
    """What a topic's link is called: "atlas page", or the site's host name."""
    if not link.startswith("https://"):
        return "atlas page"
    host = urlsplit(link).netloc
    return host[4:] if host.startswith("www.") else host


def checklist_html(roadmap: Roadmap, page: str, docs_dir: Path | str = "docs") -> str:
    """The roadmap as an HTML checklist, one block per branch with its progress.

    Every topic without children gets a checkbox carrying its id in
    ``data-item``; each branch block carries its id in ``data-branch`` and shows
    ``ticked / total`` in its ``[data-progress]`` element and a ``<progress>`` bar.
    The figures are rendered for zero ticks; the page's script restores the
    reader's ticks from ``localStorage`` and updates them.

    Args:
        roadmap: The roadmap.
        page: The ``docs``-relative path of the page the checklist is on, for the
            relative URLs of atlas pages.
        docs_dir: Where the atlas pages are, to choose each node's link.
    """
    esc = html.escape

    def topic(node: RoadmapNode) -> str:
        link = resolve_link(node, docs_dir)
        orgs = f' <span class="mlatlas-checklist__orgs">{esc(", ".join(node.orgs))}</span>' if node.orgs else ""
        anchor = f'<a href="{esc(site_href(link, page))}">{esc(_link_text(link))}</a>'
        return f"{esc(node.label)}{orgs} · {anchor}"

    def items(node_id: str, indent: str) -> list[str]:
        node = roadmap.nodes[node_id]
        below = roadmap.children[node_id]
        if not below:
            box = f'<input type="checkbox" data-item="{esc(node.id)}">'
            return [f"{indent}<li><label>{box} {topic(node)}</label></li>"]
        out = [f"{indent}<li>{topic(node)}", f"{indent}  <ul>"]
        for child in below:
            out += items(child, indent + "    ")
        return [*out, f"{indent}  </ul>", f"{indent}</li>"]

    total = sum(len(roadmap.leaves(b.id)) for b in roadmap.branches)
    lines = [
        f'<div class="mlatlas-checklist" data-checklist="{esc(roadmap.name)}">',
        f'  <p class="mlatlas-checklist__total">{esc(roadmap.root.label)}: '
        f'<strong data-total>0 / {total}</strong> ticked '
        f'<button type="button" class="md-button mlatlas-checklist__reset" data-reset>Untick all</button></p>',
    ]
    for branch in roadmap.branches:
        n = len(roadmap.leaves(branch.id))
        title = f"{branch.rank}. {branch.label}" if branch.rank else branch.label
        lines += [
            f'  <div class="mlatlas-checklist__branch" data-branch="{esc(branch.id)}">',
            f'    <p class="mlatlas-checklist__title"><strong>{esc(title)}</strong> '
            f'<span class="mlatlas-checklist__progress" data-progress>0 / {n}</span></p>',
            f'    <progress value="0" max="{n}" aria-label="{esc(branch.label)}: progress"></progress>',
            "    <ul>",
        ]
        below = roadmap.children[branch.id] or (branch.id,)
        for child in below:
            lines += items(child, "      ")
        lines += ["    </ul>", "  </div>"]
    lines.append("</div>")
    return "\n".join(lines) + "\n"


def sources_table(roadmaps: Iterable[Roadmap]) -> str:
    """A Markdown table: each roadmap, its node and topic counts, and its sources."""
    rows = ["| roadmap | nodes | topics to tick | branches | from |", "|---|---:|---:|---:|---|"]
    for m in roadmaps:
        leaves = sum(len(m.leaves(b.id)) for b in m.branches)
        rows.append(
            f"| {m.root.label} | {len(m.nodes)} | {leaves} | {len(m.branches)} | {ROADMAPS[m.name]} |"
        )
    return "\n".join(rows) + "\n"
