from mlatlas.trees import Tree, merge, to_mermaid

a = Tree.build(
    "paper A",
    [{"label": "GPU (CUDA)"}, {"label": 'all-reduce "ring"'}],
    [("GPU (CUDA)", 'all-reduce "ring"', "NCCL; #1 choice")],
)
b = Tree.build(
    "paper B",
    [{"label": "gpu (cuda)"}, {"label": "Parameter server"}],
    [("gpu (cuda)", "parameter server", "gradients")],
)
synthesis = merge([a, b])
print(to_mermaid(synthesis))
for node in synthesis.nodes.values():
    print(f"{node.label:<20} from {sorted(node.sources)}")
assert merge([b, a]).nodes == synthesis.nodes  # the order of the trees does not matter
