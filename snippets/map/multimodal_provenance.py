"""Print, for each concept of the synthesis, the papers it came from."""

from mlatlas.trees import merge, multimodal_trees

synthesis = merge(multimodal_trees())
print("| concept | papers | which |")
print("|---|---:|---|")
for node in sorted(synthesis.nodes.values(), key=lambda n: (-len(n.sources), n.label)):
    print(f"| {node.label} | {len(node.sources)} | {', '.join(sorted(node.sources, key=str.casefold))} |")
