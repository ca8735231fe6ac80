import torch

from mlatlas.moe import MoELayer, expert_load, load_balancing_loss

torch.manual_seed(0)
x = torch.randn(4, 32, 64)  # 4 sequences of 32 tokens, model width 64

# DeepSeekMoE: 16 fine-grained routed experts (4 per token) and 2 shared ones,
# with DeepSeek-V3's sigmoid router.
layer = MoELayer(embed_dim=64, expert_dim=32, num_experts=16, top_k=4, num_shared=2, scoring="sigmoid")
out, routing = layer(x)
print("output:", tuple(out.shape), "| chosen experts:", tuple(routing.indices.shape))
print("token 0 goes to experts", routing.indices[0].tolist(),
      "with gates", [round(g, 3) for g in routing.gates[0].tolist()])
print("load per expert (fraction of slots):", [round(f, 3) for f in expert_load(routing).tolist()])
print(f"Switch auxiliary loss (alpha = 0.01): {load_balancing_loss(routing, alpha=0.01).item():.5f}"
      " (0.01 when perfectly balanced)")

total = sum(p.numel() for p in layer.parameters())
per_expert = sum(p.numel() for p in layer.experts[0].parameters())
active = total - (16 - 4) * per_expert
print(f"parameters: {total:,} stored, {active:,} used per token")

# With k = all experts and equal affinities, the layer is the plain average of its experts.
dense = MoELayer(64, 32, num_experts=16, top_k=16)
torch.nn.init.zeros_(dense.router.weight)
with torch.no_grad():
    mixture, _ = dense(x)
    average = torch.stack([expert(x) for expert in dense.experts]).mean(0)
print("k = E with uniform gates == average of the experts:", torch.allclose(mixture, average, atol=1e-6))
