"""Knowledge trees: small labelled graphs, drawn as mermaid and merged into one.

A knowledge tree is what the atlas's topic maps are made of: concepts (nodes), how
one leads to another (labelled edges), and groups that keep a large map readable.
Several trees about the same field (one per paper, one per author, ...) can be
*merged* into a synthesis tree, where the same concept met in two trees becomes one
node and every node and edge remembers which trees it came from.

Read this module top to bottom:

1. :func:`normalise_label` and :func:`node_id`, how a label becomes a key and a
   stable, mermaid-safe identifier;
2. :class:`Node`, :class:`Edge` and :class:`Tree`, the data;
3. :func:`escape_label` and :func:`to_mermaid`, drawing a tree as a mermaid
   flowchart that parses whatever the labels contain;
4. :func:`merge`, the synthesis of several trees, with provenance;
5. :func:`subtree`, :func:`split_by_group` and :func:`bundle_edges`, cutting or
   summarising a large tree into diagrams that stay readable;
6. :func:`tfidf` and :func:`keywords`, the key terms of a set of texts, which the
   paper keyword graphs are built from;
7. the atlas's own trees, from its data files: :func:`papers`,
   :func:`multimodal_trees`, :func:`hpc_pattern_tree` and :func:`keyword_trees`.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from mlatlas.data import load_rows
from mlatlas.errors import MlatlasError

# ---------------------------------------------------------------------------
# 1. Keys and identifiers
# ---------------------------------------------------------------------------


def normalise_label(label: str) -> str:
    """The key under which two labels count as the same concept.

    Unicode is brought to one form (NFKC, so a full-width ``Ｄask`` is ``Dask``),
    case is folded and runs of whitespace become one space.

    >>> normalise_label("  Data   Parallel ")
    'data parallel'
    >>> normalise_label("ＧＰＵ") == normalise_label("gpu")
    True
    """
    text = unicodedata.normalize("NFKC", label).casefold()
    return " ".join(text.split())


def node_id(key: str) -> str:
    """A stable identifier for a node, safe to use as a mermaid node id.

    The id is an ASCII slug of the key (for a reader of the diagram source) plus
    eight hex digits of its SHA-1 (so that two keys with the same slug, such as
    ``C++`` and ``C``, never collide). It starts with ``n_`` so it is never a
    mermaid keyword such as ``end`` or ``graph``.

    >>> node_id("Vision")
    'n_vision_625f139d'
    >>> node_id("C++") != node_id("C")
    True
    """
    key = normalise_label(key)
    ascii_text = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")[:24]
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:8]
    return f"n_{slug}_{digest}" if slug else f"n_{digest}"


# ---------------------------------------------------------------------------
# 2. Nodes, edges and trees
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One concept.

    Attributes:
        key: What identifies the concept across trees: an explicit id, or the
            normalised label.
        label: The text shown in the diagram.
        group: The group (subgraph) the node is drawn in, or ``None``.
        sources: Names of the trees the node came from.
        link: An optional URL the node points to (shown on the page, not in the
            diagram).
    """

    key: str
    label: str
    group: str | None = None
    sources: frozenset[str] = frozenset()
    link: str | None = None

    @property
    def id(self) -> str:
        """The node's mermaid id, derived from its key (see :func:`node_id`)."""
        return node_id(self.key)


@dataclass(frozen=True)
class Edge:
    """A labelled, directed link from one node key to another.

    Attributes:
        source: Key of the node the edge starts at.
        target: Key of the node it points to.
        label: Text on the arrow; empty for a plain arrow.
        sources: Names of the trees the edge came from.
    """

    source: str
    target: str
    label: str = ""
    sources: frozenset[str] = frozenset()

    @property
    def key(self) -> tuple[str, str, str]:
        """Two edges are the same edge when this is equal: ends and normalised label."""
        return (self.source, self.target, normalise_label(self.label))


@dataclass(frozen=True)
class Tree:
    """A named graph of nodes and labelled edges, with optional groups.

    Build one with :meth:`build`, which checks that every edge joins known nodes.

    Attributes:
        name: The tree's name, recorded as the provenance of its nodes and edges.
        nodes: Nodes by key, in insertion order.
        edges: Edges, in insertion order, without duplicates.
        groups: Group keys to the titles drawn on their subgraphs.
    """

    name: str
    nodes: Mapping[str, Node]
    edges: tuple[Edge, ...]
    groups: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        name: str,
        nodes: Iterable[Mapping],
        edges: Iterable[Mapping | Sequence],
        groups: Mapping[str, str] | None = None,
    ) -> Tree:
        """Make a tree from plain data (for example rows of a YAML file).

        Args:
            name: The tree's name (its provenance in a merge).
            nodes: Mappings with ``label`` and optionally ``id`` (an explicit key
                that wins over the label when merging), ``group`` and ``link``.
            edges: ``(source, target)`` or ``(source, target, label)`` sequences,
                or mappings with ``source``, ``target`` and optional ``label``;
                ends name a node by its ``id`` or its label.
            groups: Group keys to their titles; a node's group must be one of them.

        Raises:
            MlatlasError: On a node without a label, a duplicate node, an unknown
                group or an edge end that names no node.
        """
        groups = dict(groups or {})
        built: dict[str, Node] = {}
        alias: dict[str, str] = {}
        for row in nodes:
            label = str(row.get("label", "")).strip()
            if not label:
                raise MlatlasError(f"tree {name!r}: a node has no label: {dict(row)!r}")
            key = str(row["id"]) if row.get("id") else normalise_label(label)
            if key in built:
                raise MlatlasError(f"tree {name!r}: two nodes have the key {key!r}")
            group = row.get("group")
            if group is not None and group not in groups:
                raise MlatlasError(f"tree {name!r}: node {label!r} is in unknown group {group!r}")
            built[key] = Node(key, label, group, frozenset({name}), row.get("link"))
            alias[key] = alias[normalise_label(label)] = key
        seen: dict[tuple[str, str, str], Edge] = {}
        for row in edges:
            if isinstance(row, Mapping):
                ends = (row.get("source"), row.get("target"), row.get("label", ""))
            else:
                ends = (*row, "")[:3]
            resolved = []
            for end in ends[:2]:
                text = str(end)
                key = alias.get(text, alias.get(normalise_label(text)))
                if key is None:
                    raise MlatlasError(f"tree {name!r}: edge end {text!r} names no node")
                resolved.append(key)
            edge = Edge(resolved[0], resolved[1], str(ends[2] or ""), frozenset({name}))
            seen.setdefault(edge.key, edge)
        return cls(name, built, tuple(seen.values()), groups)


# ---------------------------------------------------------------------------
# 3. Drawing a tree as mermaid
# ---------------------------------------------------------------------------

# Mermaid reads a quoted label as text, except for its entity syntax (#name; or
# #code;), the quote that ends it, and HTML, which it renders. Each character below
# is replaced by mermaid's own entity code, so the label reads the same in the
# diagram and can never end the string, start an entity, inject markup, or (for |
# and ;) end an edge label or a statement.
_ENTITIES = {
    "#": "#35;",
    '"': "#quot;",
    "&": "#amp;",
    "<": "#lt;",
    ">": "#gt;",
    "|": "#124;",
    ";": "#59;",
    "`": "#96;",
}


def escape_label(text: str) -> str:
    """Quote a label for a mermaid flowchart, whatever characters it holds.

    Brackets and parentheses are safe inside the quotes; the characters mermaid
    would read as syntax are written as its entity codes, and a newline becomes a
    line break.

    >>> escape_label('say "hi" (twice); #1')
    '"say #quot;hi#quot; (twice)#59; #35;1"'
    """
    out = "".join(_ENTITIES.get(ch, ch) for ch in text)
    out = "<br>".join(part.strip() for part in out.splitlines()) if "\n" in out else out
    return f'"{out}"'


def to_mermaid(
    tree: Tree,
    direction: str = "LR",
    *,
    subgraphs: bool = True,
    classes: Mapping[str, str] | None = None,
    layout: Mapping[str, int] | None = None,
) -> str:
    """The tree as the source of a mermaid flowchart.

    Args:
        tree: What to draw.
        direction: ``LR`` (left to right), ``TD``/``TB`` (top down), ``RL`` or ``BT``.
        subgraphs: Draw each group as a titled subgraph (nodes without a group sit
            outside any subgraph).
        classes: Optional group key to a mermaid ``classDef`` style (for example
            ``"fill:#eef"``), applied to the group's nodes.
        layout: Optional mermaid flowchart settings for this diagram only, such as
            ``{"nodeSpacing": 8, "rankSpacing": 40, "wrappingWidth": 260}``,
            written as the diagram's front matter (a fan of many leaves packs tighter
            with a smaller node spacing and wider labels).

    Returns:
        The diagram source, one statement per line, nodes before edges, in the
        tree's order, so the same tree always gives the same text.
    """
    if direction not in {"LR", "RL", "TD", "TB", "BT"}:
        raise MlatlasError(f"unknown flowchart direction {direction!r}; use LR, RL, TD, TB or BT")
    lines = []
    if layout:
        lines += ["---", "config:", "  flowchart:"]
        lines += [f"    {key}: {int(value)}" for key, value in layout.items()]
        lines += ["---"]
    lines.append(f"flowchart {direction}")
    by_group: dict[str | None, list[Node]] = {}
    for node in tree.nodes.values():
        by_group.setdefault(node.group if subgraphs else None, []).append(node)
    for node in by_group.pop(None, []):
        lines.append(f"    {node.id}[{escape_label(node.label)}]")
    for group, members in by_group.items():
        lines.append(f"    subgraph {node_id('group ' + group)}[{escape_label(tree.groups.get(group, group))}]")
        lines.extend(f"        {node.id}[{escape_label(node.label)}]" for node in members)
        lines.append("    end")
    for edge in tree.edges:
        a, b = tree.nodes[edge.source].id, tree.nodes[edge.target].id
        arrow = f"-->|{escape_label(edge.label)}|" if edge.label else "-->"
        lines.append(f"    {a} {arrow} {b}")
    for group, style in (classes or {}).items():
        members = [n.id for n in tree.nodes.values() if n.group == group]
        if members:
            name = "c_" + node_id(group)[2:]
            lines.append(f"    classDef {name} {style}")
            lines.append(f"    class {','.join(members)} {name}")
    return "\n".join(lines) + "\n"


def mermaid_block(source: str) -> str:
    """Wrap diagram source in a fenced ``mermaid`` block, as a snippet prints it."""
    return f"```mermaid\n{source.rstrip()}\n```\n"


# ---------------------------------------------------------------------------
# 4. Merging trees ("breeding" a synthesis tree)
# ---------------------------------------------------------------------------


def merge(trees: Iterable[Tree], name: str = "synthesis") -> Tree:
    """Merge trees into one synthesis tree, keeping where everything came from.

    * Nodes with the same key (explicit id, else normalised label) become one node;
      its ``sources`` is the union of theirs.
    * Edges with the same ends and normalised label become one edge, with the
      union of their sources; different labels between the same nodes stay apart.
    * When merged nodes disagree on a label, group or link, the smallest value
      (labels compared case-insensitively first) wins, so that the result does not
      depend on the order of ``trees``.

    Merging is idempotent (``merge([t, t])`` equals ``merge([t])``), and
    associative: merging a merge with another tree gives the same nodes, edges and
    provenance as merging all of them at once. Nodes and edges are sorted by key,
    so the result is the same for any order of the input.

    Args:
        trees: The trees to merge.
        name: The name of the result.

    Returns:
        The synthesis tree.
    """
    nodes: dict[str, list[Node]] = {}
    edges: dict[tuple[str, str, str], list[Edge]] = {}
    groups: dict[str, set[str]] = {}
    for tree in trees:
        for node in tree.nodes.values():
            nodes.setdefault(node.key, []).append(node)
        for edge in tree.edges:
            edges.setdefault(edge.key, []).append(edge)
        for group, title in tree.groups.items():
            groups.setdefault(group, set()).add(title)

    def smallest(values: Iterable[str | None]) -> str | None:
        present = [v for v in values if v is not None]
        return min(present, key=lambda v: (v.casefold(), v)) if present else None

    merged_nodes = {
        key: Node(
            key,
            smallest(n.label for n in found),
            smallest(n.group for n in found),
            frozenset().union(*(n.sources for n in found)),
            smallest(n.link for n in found),
        )
        for key, found in sorted(nodes.items())
    }
    merged_edges = tuple(
        Edge(key[0], key[1], smallest(e.label for e in found), frozenset().union(*(e.sources for e in found)))
        for key, found in sorted(edges.items())
    )
    merged_groups = {g: smallest(titles) for g, titles in sorted(groups.items())}
    return Tree(name, merged_nodes, merged_edges, merged_groups)


# ---------------------------------------------------------------------------
# 5. Cutting a large tree into readable pieces
# ---------------------------------------------------------------------------


def subtree(tree: Tree, keys: Iterable[str], name: str | None = None) -> Tree:
    """The part of a tree on the given node keys, with the edges between them."""
    keep = set(keys)
    unknown = keep - set(tree.nodes)
    if unknown:
        raise MlatlasError(f"tree {tree.name!r} has no node {sorted(unknown)[0]!r}")
    nodes = {k: n for k, n in tree.nodes.items() if k in keep}
    edges = tuple(e for e in tree.edges if e.source in keep and e.target in keep)
    used = {n.group for n in nodes.values()}
    groups = {g: t for g, t in tree.groups.items() if g in used}
    return Tree(name or tree.name, nodes, edges, groups)


def split_by_group(tree: Tree, *, neighbours: bool = True, outgoing: bool = False) -> dict[str, Tree]:
    """One tree per group, for one diagram per group.

    Args:
        tree: The tree to split.
        neighbours: Also keep the nodes, outside the group, that the group's nodes
            link to or from, so each diagram shows where the group connects.
        outgoing: Keep only the edges that leave the group's nodes (and the nodes
            they reach), so that every edge of the tree is drawn in exactly one
            diagram: the one of the group it starts from.

    Returns:
        Group key to its tree, in the order of ``tree.groups``; a group without
        nodes (or, with ``outgoing``, without edges) is left out.
    """
    parts = {}
    for group in tree.groups:
        members = {k for k, n in tree.nodes.items() if n.group == group}
        if outgoing:
            edges = tuple(e for e in tree.edges if e.source in members)
            if not edges:
                continue
            keys = {end for e in edges for end in (e.source, e.target)}
            nodes = {k: n for k, n in tree.nodes.items() if k in keys}
            used = {n.group for n in nodes.values()}
            groups = {g: t for g, t in tree.groups.items() if g in used}
            parts[group] = Tree(f"{tree.name}: {group}", nodes, edges, groups)
            continue
        if not members:
            continue
        keys = set(members)
        if neighbours:
            for e in tree.edges:
                if e.source in members or e.target in members:
                    keys.update((e.source, e.target))
        parts[group] = subtree(tree, keys, f"{tree.name}: {group}")
    return parts


def bundle_edges(tree: Tree, sep: str = ", ") -> Tree:
    """One arrow per pair of nodes, labelled with the trees that support it.

    A synthesis tree can hold several edges between the same two nodes, one per
    label; an overview diagram reads better with one arrow whose label says where
    it comes from (for example the papers that make the link).
    """
    bundles: dict[tuple[str, str], set[str]] = {}
    for e in tree.edges:
        bundles.setdefault((e.source, e.target), set()).update(e.sources)
    edges = tuple(
        Edge(a, b, sep.join(sorted(srcs, key=str.casefold)), frozenset(srcs)) for (a, b), srcs in bundles.items()
    )
    return Tree(tree.name, tree.nodes, edges, tree.groups)


def replace_labels(tree: Tree, labels: Mapping[str, str]) -> Tree:
    """A copy of the tree with some node labels replaced (key to new label)."""
    nodes = {k: replace(n, label=labels.get(k, n.label)) for k, n in tree.nodes.items()}
    return Tree(tree.name, nodes, tree.edges, tree.groups)


# ---------------------------------------------------------------------------
# 6. Key terms: TF-IDF over a set of texts
# ---------------------------------------------------------------------------

STOP_WORDS = frozenset(
    """
    a about above across after again against all almost along also although always am among
    an and another any are around as at be became because been before being below between
    both but by can cannot could did do does doing done down during each either else enough
    even ever every few for from further had has have having he her here hers herself him
    himself his how however i if in into is it its itself just least less like made make
    makes many may me might more most much must my myself neither no nor not now of off
    often on once one only onto or other others otherwise our ours ourselves out over own
    per rather same several she should since so some such than that the their theirs them
    themselves then there therefore these they this those though through thus to together
    too toward towards two under until up upon us use used uses using very via was we well
    were what when where whether which while who whom whose why will with within without
    would yet you your yours yourself yourselves
    authors based becomes besides built called first instead new paper part present presents
    propose proposed runs show shows towards work
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
"""Words that carry no topic: never a key term.

English function words, then a few words of academic prose ("paper", "propose",
"towards", ...). The classic lists (SMART, the one scikit-learn ships) are longer;
this one is short enough to read, and it contains every word the seed notes' broken
extraction kept ("is", "which", "by", "we", "that", "this", "these", "from", "using").
"""

_TOKEN = re.compile(r"[a-z0-9]+(?:[-+][a-z0-9]+)*\+*")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens, keeping hyphenated terms and names like ``mpi4py``.

    Stop words, pure numbers and one-letter tokens are dropped.

    >>> tokenize("MPI4Dask is a GPU-aware backend, 2x faster, by design.")
    ['mpi4dask', 'gpu-aware', 'backend', '2x', 'faster', 'design']
    """
    words = _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())
    return [w for w in words if len(w) > 1 and not w.isdigit() and w not in STOP_WORDS]


def tfidf(documents: Sequence[str]) -> list[dict[str, float]]:
    """TF-IDF weight of every term of every document.

    For term $t$ in document $d$ of a set of $N$ documents, $t$ appearing in
    $\\mathrm{df}(t)$ of them:

    $$\\mathrm{tfidf}(t, d) = \\frac{n_{t,d}}{\\sum_{t'} n_{t',d}}
    \\cdot \\left(\\ln\\frac{1 + N}{1 + \\mathrm{df}(t)} + 1\\right)$$

    The term frequency is the share of the document's tokens that are $t$; the
    smoothed inverse document frequency (the form scikit-learn uses) is 1 for a
    term every document has and grows as the term gets rarer, so words common to
    the whole set rank below the words that set one document apart.

    Args:
        documents: The texts; tokenised with :func:`tokenize`.

    Returns:
        One ``{term: weight}`` per document, in the same order.
    """
    counts = [Counter(tokenize(doc)) for doc in documents]
    df = Counter(term for c in counts for term in c)
    n = len(documents)
    idf = {term: math.log((1 + n) / (1 + k)) + 1 for term, k in df.items()}
    return [
        {term: k / sum(c.values()) * idf[term] for term, k in c.items()} if c else {}
        for c in counts
    ]


def keywords(documents: Sequence[str], top: int = 6) -> list[list[tuple[str, float]]]:
    """The ``top`` terms of each document by TF-IDF, best first (ties alphabetical)."""
    return [sorted(w.items(), key=lambda kv: (-kv[1], kv[0]))[:top] for w in tfidf(documents)]


# ---------------------------------------------------------------------------
# 7. The atlas's trees, from the data files
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Paper:
    """A paper the maps cite, from ``mlatlas/data/papers.yaml``.

    Attributes:
        arxiv: The arXiv identifier, for example ``"2101.08878"``.
        short: A short name for diagrams.
        title: The full title.
        authors: Authors as listed (long lists end with ``"et al."``).
        date: First-version date ``YYYY-MM-DD``, or ``YYYY-MM`` from the identifier.
        venue: Where it was published, if known.
        collection: ``"hpc-async"`` (seed note 001) or ``"multimodal"`` (seed note 002).
        branch: For HPC papers, the branch of the patterns tree it belongs to.
        summary: For HPC papers, the atlas's summary the keywords are taken from.
        seed_terms: For HPC papers, the key terms seed note 001 printed for it.
        source: Where the metadata was checked.
    """

    arxiv: str
    short: str
    title: str
    authors: tuple[str, ...]
    date: str
    venue: str | None
    collection: str
    branch: str | None
    summary: str | None
    seed_terms: tuple[str, ...]
    source: str

    @property
    def url(self) -> str:
        """The arXiv abstract page."""
        return f"https://arxiv.org/abs/{self.arxiv}"

    def citation(self) -> str:
        """One Markdown line: authors, date, *title*, venue and the arXiv link."""
        names = list(self.authors)
        if names[-1] == "et al.":
            who = f"{names[0]} et al."
        elif len(names) > 1:
            who = f"{', '.join(names[:-1])} and {names[-1]}"
        else:
            who = names[0]
        venue = f" {self.venue}." if self.venue else ""
        return f"{who}, {self.date}. *{self.title}*.{venue} [arXiv:{self.arxiv}]({self.url})"


def papers(collection: str | None = None) -> list[Paper]:
    """The cited papers, in file order, optionally of one collection only."""
    out = [
        Paper(
            arxiv=str(r["arxiv"]),
            short=r["short"],
            title=r["title"],
            authors=tuple(r["authors"]),
            date=str(r["date"]),
            venue=r.get("venue"),
            collection=r["set"],
            branch=r.get("branch"),
            summary=r.get("summary"),
            seed_terms=tuple(r.get("seed_terms") or ()),
            source=r["source"],
        )
        for r in load_rows("papers")
    ]
    return [p for p in out if collection is None or p.collection == collection]


MULTIMODAL_GROUPS = {
    "modality": "Modalities",
    "data": "Data and evaluation",
    "method": "Methods",
    "task": "Tasks",
}
"""The groups of the multimodal concept graph, with their titles."""


def multimodal_trees() -> list[Tree]:
    """One small tree per multimodal paper: the concepts it links and how.

    Each tree is named after its paper's short name, so that after :func:`merge`
    every node and edge lists the papers that support it.
    """
    rows = load_rows("trees_multimodal")
    concepts = {r["concept"]: r for r in rows if "concept" in r}
    by_paper: dict[str, list[dict]] = {}
    for r in rows:
        if "paper" in r:
            by_paper.setdefault(str(r["paper"]), []).append(r)
    trees = []
    for paper in papers("multimodal"):
        edges = by_paper.get(paper.arxiv, [])
        used = dict.fromkeys(end for e in edges for end in (e["from"], e["to"]))
        nodes = [
            {"id": c, "label": concepts[c]["label"], "group": concepts[c]["group"]} for c in used
        ]
        trees.append(
            Tree.build(
                paper.short,
                nodes,
                [(e["from"], e["to"], e["label"]) for e in edges],
                MULTIMODAL_GROUPS,
            )
        )
    return trees


def hpc_pattern_tree(*, cross_links: bool = True) -> Tree:
    """The asynchronous-HPC scaling-patterns tree: theme, branches, patterns, papers.

    Patterns and papers are grouped by branch; a paper node's key is its arXiv
    identifier, so it unifies with the same paper in the keyword trees.

    Args:
        cross_links: Include the labelled links between branches (a tree without
            them is a plain hierarchy, for drawing the patterns branch by branch).
    """
    rows = load_rows("trees_hpc")
    by_id = {p.arxiv: p for p in papers("hpc-async")}
    branches = {r["id"]: r["label"] for r in rows if r["kind"] == "branch"}
    nodes = [{"id": r["id"], "label": r["label"]} for r in rows if r["kind"] in {"root", "branch"}]
    edges: list[tuple[str, str, str]] = [("root", b, "") for b in branches]
    for r in rows:
        if r["kind"] == "pattern":
            paper = by_id[str(r["paper"])]
            pattern = f"pattern:{paper.arxiv}"
            nodes.append({"id": pattern, "label": r["label"], "group": r["branch"]})
            nodes.append({"id": paper.arxiv, "label": paper.short, "group": r["branch"]})
            edges += [(r["branch"], pattern, ""), (pattern, paper.arxiv, "")]
        elif r["kind"] == "link" and cross_links:
            edges.append((r["from"], r["to"], r["label"]))
    return Tree.build("patterns", nodes, edges, branches)


def paper_texts(items: Sequence[Paper]) -> list[str]:
    """The text keywords are taken from: each paper's title, then its summary."""
    return [f"{p.title}. {p.summary or ''}" for p in items]


def keyword_trees(top: int = 5) -> list[Tree]:
    """One tree per HPC paper: the paper and its ``top`` TF-IDF key terms.

    Each paper's text is its title followed by the atlas's summary of it, and the
    weights are computed across all HPC papers in ``papers.yaml`` (see
    :func:`keywords`); a title word thus counts twice, as in the usual title-plus-
    abstract indexing. A term node's key is the term itself, so two papers sharing a
    term share the node after :func:`merge`.
    """
    hpc = papers("hpc-async")
    terms = keywords(paper_texts(hpc), top=top)
    groups = {r["id"]: r["label"] for r in load_rows("trees_hpc") if r["kind"] == "branch"}
    return [
        Tree.build(
            p.short,
            [{"id": p.arxiv, "label": p.short, "group": p.branch}]
            + [{"id": f"term:{t}", "label": t} for t, _ in ranked],
            [(p.arxiv, f"term:{t}") for t, _ in ranked],
            groups,
        )
        for p, ranked in zip(hpc, terms, strict=True)
    ]
