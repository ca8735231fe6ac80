"""Print the synthesis of the patterns tree and the keyword trees, one diagram per branch."""

from mlatlas.trees import hpc_pattern_tree, keyword_trees, merge, mermaid_block, split_by_group, to_mermaid

synthesis = merge([hpc_pattern_tree(), *keyword_trees(top=5)], name="patterns and key terms")
for branch, part in split_by_group(synthesis).items():
    print(f"**{synthesis.groups[branch]}**\n")
    print(mermaid_block(to_mermaid(part, "LR", subgraphs=False)))
