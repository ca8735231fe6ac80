"""mlatlas.trees: mermaid that parses, merges that keep provenance, TF-IDF by hand.

Diagram sources are validated by mermaid itself: ``mermaid.parse`` from the npm
package in ``node_modules`` runs in Node, with its HTML sanitiser (the only part that
needs a browser DOM) swapped for a pass-through, which changes nothing about what
parses. The browser test renders the same diagrams on the built site.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from conftest import ROOT
from mlatlas.errors import MlatlasError
from mlatlas.trees import (
    STOP_WORDS,
    Tree,
    bundle_edges,
    escape_label,
    hpc_pattern_tree,
    keyword_trees,
    keywords,
    merge,
    multimodal_trees,
    node_id,
    normalise_label,
    paper_texts,
    papers,
    split_by_group,
    subtree,
    tfidf,
    to_mermaid,
    tokenize,
)

MERMAID = ROOT / "node_modules/mermaid/dist/mermaid.core.mjs"
PARSE_SCRIPT = """
import { register } from "node:module";
const stub = "const p = { addHook() {}, removeHook() {}, removeHooks() {}, removeAllHooks() {},"
  + " sanitize: (s) => s, isSupported: true, setConfig() {}, clearConfig() {} }; export default p;";
const stubUrl = "data:text/javascript," + encodeURIComponent(stub);
const hooks = `export async function resolve(specifier, context, next) {
  if (specifier === "dompurify") return { url: ${JSON.stringify(stubUrl)}, shortCircuit: true };
  return next(specifier, context);
}`;
register("data:text/javascript," + encodeURIComponent(hooks));
const { default: mermaid } = await import(process.argv[2]);
let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const source of JSON.parse(input)) {
  try { await mermaid.parse(source); out.push(null); }
  catch (err) { out.push(String(err.message || err)); }
}
console.log(JSON.stringify(out));
"""


def mermaid_errors(sources: list[str], tmp_path: Path) -> list[str | None]:
    """Parse each diagram with mermaid in Node; ``None`` for a diagram that parses."""
    node = shutil.which("node")
    if node is None or not MERMAID.is_file():
        pytest.fail("node and node_modules/mermaid are needed: run `make test`, which installs them")
    script = tmp_path / "parse.mjs"
    script.write_text(PARSE_SCRIPT, encoding="utf-8")
    result = subprocess.run(
        [node, str(script), MERMAID.as_uri()],
        input=json.dumps(sources), capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- identifiers and escaping ---------------------------------------------------------


def test_normalised_labels_ignore_case_width_and_spacing() -> None:
    assert normalise_label("  Data\tParallel ") == normalise_label("data parallel")
    assert normalise_label("ＧＰＵ") == "gpu"


def test_node_ids_are_stable_safe_and_distinct() -> None:
    labels = ["end", "graph", "C++", "C", "Ünïcode ✨", "a b", "a_b", "", "日本語"]
    ids = [node_id(label) for label in labels]
    assert ids == [node_id(label) for label in labels]  # same input, same id
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"n_[a-z0-9_]+", i) for i in ids)
    assert node_id("Vision") == "n_vision_625f139d"  # stable across runs and machines


def test_escaped_labels_cannot_break_out() -> None:
    label = escape_label('a "quoted" [x] (y) {z} #tag; <b>&</b> | `c`')
    body = label[1:-1]
    assert label.startswith('"') and label.endswith('"')
    bare = re.sub(r"#(\w+);", "", body)  # what is left once mermaid's entity codes are taken out
    assert not set(bare) & set('"<>|;`#')
    assert "#quot;quoted#quot;" in body and "(y)" in body and "[x]" in body
    assert escape_label("two\nlines") == '"two<br>lines"'


HOSTILE = [
    'say "hi"', "a (b) [c] {d}", "issue #42", "x; y", "a|b", "<script>alert(1)</script>", "`code`",
    "end", "graph", "subgraph", "Ünïcode ✨ 日本語", "100% & more", "a --> b", "-->|x|", "click", "%%",
]


def test_hostile_labels_give_diagrams_mermaid_parses(tmp_path: Path) -> None:
    tree = Tree.build(
        "hostile",
        [{"label": label, "group": "g" if i % 2 else None} for i, label in enumerate(HOSTILE)],
        [(HOSTILE[i], HOSTILE[i + 1], HOSTILE[-1 - i]) for i in range(len(HOSTILE) - 1)],
        groups={"g": 'group "one" (#1); end'},
    )
    sources = [to_mermaid(tree, d) for d in ("LR", "TD")] + [to_mermaid(tree, subgraphs=False)]
    assert mermaid_errors(sources, tmp_path) == [None, None, None]


def test_the_parser_does_reject_broken_mermaid(tmp_path: Path) -> None:
    """The seed notes' failure: parentheses inside an unquoted [...] label."""
    errors = mermaid_errors(["flowchart TD\n  A[GPU (CUDA)] --> B", "flowchart TD\n  A --> B"], tmp_path)
    assert errors[0] is not None and "Parse error" in errors[0]
    assert errors[1] is None


@cache
def snippet_outputs() -> dict[str, str]:
    """What each snippet of the map pages prints, run as the site build runs it."""
    from conftest import run_env

    out = {}
    for path in sorted((ROOT / "snippets/map").glob("*.py")):
        result = subprocess.run(
            [sys.executable, str(path)], cwd=ROOT, env=run_env(), capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"{path.name}: {result.stderr}"
        out[path.name] = result.stdout
    return out


def test_every_generated_diagram_parses(tmp_path: Path) -> None:
    """Every diagram the map pages print (run the snippets, collect their fences)."""
    fences = [
        block
        for text in snippet_outputs().values()
        for block in re.findall(r"```mermaid\n(.*?)\n```", text, flags=re.S)
    ]
    assert len(fences) >= 20
    errors = mermaid_errors(fences, tmp_path)
    assert [e for e in errors if e] == []


def test_unknown_direction_is_refused() -> None:
    with pytest.raises(MlatlasError, match="direction"):
        to_mermaid(Tree.build("t", [{"label": "a"}], []), "XY")


def test_build_refuses_bad_trees() -> None:
    with pytest.raises(MlatlasError, match="names no node"):
        Tree.build("t", [{"label": "a"}], [("a", "b")])
    with pytest.raises(MlatlasError, match="two nodes"):
        Tree.build("t", [{"label": "A"}, {"label": "a"}], [])
    with pytest.raises(MlatlasError, match="unknown group"):
        Tree.build("t", [{"label": "a", "group": "nope"}], [])


# --- merging --------------------------------------------------------------------------


def _tree(name: str, edges: list[tuple[str, str, str]], **groups: str) -> Tree:
    labels = {normalise_label(end): end for e in reversed(edges) for end in reversed(e[:2])}
    return Tree.build(name, [{"label": label} for label in reversed(labels.values())], edges, groups)


A = _tree("A", [("GPU", "All-reduce", "NCCL"), ("GPU", "Parameter server", "push")])
B = _tree("B", [("gpu", "all-reduce", "nccl"), ("All-reduce", "Ring", "")])
C = _tree("C", [("Ring", "GPU", "wraps"), ("GPU", "All-reduce", "NCCL")])


def test_shared_nodes_are_unified_by_normalised_label() -> None:
    m = merge([A, B])
    assert sorted(n.label for n in m.nodes.values()) == ["All-reduce", "GPU", "Parameter server", "Ring"]
    assert m.nodes["gpu"].sources == {"A", "B"}
    assert m.nodes["parameter server"].sources == {"A"}


def test_explicit_ids_unify_nodes_with_different_labels() -> None:
    x = Tree.build("x", [{"id": "2101.08878", "label": "MPI4Dask"}], [])
    y = Tree.build("y", [{"id": "2101.08878", "label": "Efficient MPI-based communication"}], [])
    m = merge([x, y])
    assert list(m.nodes) == ["2101.08878"] and m.nodes["2101.08878"].sources == {"x", "y"}


def test_edges_are_deduplicated_with_their_provenance() -> None:
    m = merge([A, B, C])
    nccl = [e for e in m.edges if e.source == "gpu" and e.target == "all-reduce"]
    assert len(nccl) == 1 and nccl[0].sources == {"A", "B", "C"}
    assert len(m.edges) == 4  # GPU->All-reduce, GPU->Parameter server, All-reduce->Ring, Ring->GPU


def test_merge_is_idempotent_and_order_independent() -> None:
    once = merge([A, B, C])
    assert merge([A, A]) == merge([A])
    assert merge([once, once], name=once.name) == once
    for order in ([C, B, A], [B, A, C], [A, C, B]):
        assert merge(order) == once
    assert merge([merge([A, B]), C]) == once  # associative, provenance included


def test_merged_label_conflicts_resolve_without_looking_at_order() -> None:
    assert merge([A, B]).nodes["all-reduce"].label == merge([B, A]).nodes["all-reduce"].label == "All-reduce"


def test_bundled_edges_are_labelled_by_their_sources() -> None:
    m = merge([_tree("p1", [("x", "y", "one")]), _tree("p2", [("x", "y", "two")])])
    assert len(m.edges) == 2
    (bundled,) = bundle_edges(m).edges
    assert bundled.label == "p1, p2" and bundled.sources == {"p1", "p2"}


def test_split_by_group_keeps_groups_and_their_neighbours() -> None:
    t = Tree.build(
        "t",
        [{"label": "a", "group": "g1"}, {"label": "b", "group": "g1"}, {"label": "c", "group": "g2"}, {"label": "d"}],
        [("a", "b"), ("b", "c"), ("c", "d")],
        {"g1": "one", "g2": "two"},
    )
    parts = split_by_group(t)
    assert set(parts["g1"].nodes) == {"a", "b", "c"} and len(parts["g1"].edges) == 2
    assert set(parts["g2"].nodes) == {"b", "c", "d"}
    assert set(split_by_group(t, neighbours=False)["g2"].nodes) == {"c"}
    with pytest.raises(MlatlasError, match="no node"):
        subtree(t, ["zzz"])


# --- TF-IDF ---------------------------------------------------------------------------


def test_tfidf_matches_a_hand_computed_example() -> None:
    """Two documents, N = 2. After stop words: ["gpu", "gpu", "cluster"], ["cluster", "network"].

    idf(gpu) = idf(network) = ln(3/2) + 1 = 1.405465; idf(cluster) = ln(3/3) + 1 = 1.
    Document 1: gpu 2/3 * 1.405465 = 0.936977, cluster 1/3 * 1 = 0.333333.
    Document 2: cluster 1/2 * 1 = 0.5, network 1/2 * 1.405465 = 0.702733.
    """
    w = tfidf(["The GPU and the GPU cluster", "a cluster, which is on the network"])
    assert w[0] == pytest.approx({"gpu": 0.936977, "cluster": 1 / 3}, abs=1e-6)
    assert w[1] == pytest.approx({"cluster": 0.5, "network": 0.702733}, abs=1e-6)
    assert math.log(1.5) + 1 == pytest.approx(1.405465, abs=1e-6)
    assert keywords(["The GPU and the GPU cluster", "a cluster, which is on the network"], top=1) == [
        [("gpu", pytest.approx(0.936977, abs=1e-6))],
        [("network", pytest.approx(0.702733, abs=1e-6))],
    ]


def test_tfidf_of_an_empty_document_is_empty() -> None:
    assert tfidf(["", "words here"])[0] == {}


def test_tokens_drop_stop_words_numbers_and_single_letters() -> None:
    assert tokenize("It is 2x faster, which is by design: 32 GPUs, GPU-aware MPI4Dask, C++ and s") == [
        "2x", "faster", "design", "gpus", "gpu-aware", "mpi4dask", "c++",
    ]


def test_the_seed_notes_stop_words_never_become_keywords() -> None:
    """The seed's extraction kept "is", "which", "by"...: none may come out here."""
    assert {"is", "which", "by", "we", "that", "this", "these", "from", "using", "its"} <= STOP_WORDS
    hpc = papers("hpc-async")
    found = {term for ranked in keywords(paper_texts(hpc), top=15) for term, _ in ranked}
    assert found and not found & STOP_WORDS
    assert not any(t.isdigit() or len(t) == 1 for t in found)
    seed = {t for p in hpc for t in p.seed_terms}
    assert {"is", "which", "by"} <= seed  # the seed really had them


# --- the atlas's trees ----------------------------------------------------------------


def test_papers_are_cited_completely() -> None:
    rows = papers()
    assert len({p.arxiv for p in rows}) == len(rows) == 34
    for p in rows:
        assert re.fullmatch(r"\d{4}\.\d{4,5}", p.arxiv), p.arxiv
        assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", p.date), p.date
        # An identifier encodes the month the paper was announced; the first version
        # is submitted in that month or, at a month's end, in the one before.
        year, month = 2000 + int(p.arxiv[:2]), int(p.arxiv[2:4])
        before = (year, month - 1) if month > 1 else (year - 1, 12)
        assert (int(p.date[:4]), int(p.date[5:7])) in {(year, month), before}, f"{p.short}: {p.date} vs {p.arxiv}"
        assert p.title and p.authors and p.source and f"arXiv:{p.arxiv}" in p.source
        assert p.citation().endswith(f"[arXiv:{p.arxiv}](https://arxiv.org/abs/{p.arxiv})")
    assert all(p.summary and p.branch and p.seed_terms for p in papers("hpc-async"))


def test_multimodal_graph_has_every_paper_and_keeps_provenance() -> None:
    per_paper = multimodal_trees()
    assert len(per_paper) == 20 and all(t.edges for t in per_paper)
    synthesis = merge(per_paper)
    assert len(synthesis.nodes) == 15
    assert synthesis.nodes["language"].sources >= {"OneLLM", "LiDAR-LLM", "GPT4Point"}
    assert {s for e in synthesis.edges for s in e.sources} == {t.name for t in per_paper}


def test_hpc_tree_and_keyword_trees_join_on_papers() -> None:
    patterns = hpc_pattern_tree()
    synthesis = merge([patterns, *keyword_trees()])
    for p in papers("hpc-async"):
        assert synthesis.nodes[p.arxiv].sources == {"patterns", p.short}
        assert synthesis.nodes[p.arxiv].group == p.branch
    assert set(split_by_group(synthesis)) == set(patterns.groups)
