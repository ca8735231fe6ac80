"""Print the twenty papers of the multimodal graph, each with the links it draws."""

from mlatlas.trees import multimodal_trees, papers

print("| | paper | links it draws |")
print("|---|---|---|")
for i, (paper, tree) in enumerate(zip(papers("multimodal"), multimodal_trees(), strict=True), 1):
    links = "<br>".join(
        f"{tree.nodes[e.source].label} → {tree.nodes[e.target].label}: {e.label}" for e in tree.edges
    )
    print(f"| {i} | **{paper.short}**: {paper.citation()} | {links} |")
