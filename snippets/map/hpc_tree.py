"""Print the asynchronous-HPC patterns tree: theme, branches, patterns, papers."""

from mlatlas.trees import hpc_pattern_tree, mermaid_block, to_mermaid

narrow = {"nodeSpacing": 10, "rankSpacing": 25, "wrappingWidth": 150}  # four columns fit the page
print(mermaid_block(to_mermaid(hpc_pattern_tree(cross_links=False), "LR", subgraphs=False, layout=narrow)))
