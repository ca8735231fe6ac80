"""Print the key terms that several papers share: where the keyword trees join."""

from mlatlas.trees import keyword_trees, merge

synthesis = merge(keyword_trees(top=5))
shared = [n for n in synthesis.nodes.values() if n.key.startswith("term:") and len(n.sources) > 1]
for node in sorted(shared, key=lambda n: (-len(n.sources), n.label)):
    print(f"{node.label}: {', '.join(sorted(node.sources, key=str.casefold))}")
