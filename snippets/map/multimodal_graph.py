"""Print the multimodal concept graph: the papers' trees merged, one diagram per group."""

from mlatlas.trees import (
    MULTIMODAL_GROUPS,
    bundle_edges,
    merge,
    mermaid_block,
    multimodal_trees,
    split_by_group,
    to_mermaid,
)

synthesis = bundle_edges(merge(multimodal_trees(), name="multimodal concepts"))
parts = split_by_group(synthesis, outgoing=True)
for group, title in MULTIMODAL_GROUPS.items():
    if group in parts:
        print(f"**From {title.lower()}**\n")
        print(mermaid_block(to_mermaid(parts[group], "TD", subgraphs=False)))
