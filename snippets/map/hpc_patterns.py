"""Print how the branches connect: the links between them that a paper supports."""

from mlatlas.trees import hpc_pattern_tree, mermaid_block, subtree, to_mermaid

tree = hpc_pattern_tree()
branches = [key for key, node in tree.nodes.items() if node.group is None and key != "root"]
print(mermaid_block(to_mermaid(subtree(tree, branches), "LR")))
