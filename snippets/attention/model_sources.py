from mlatlas.attention import model_shapes

print("| model | layers | heads | KV heads | head dim | config |")
print("|---|--:|--:|--:|--:|---|")
for s in model_shapes().values():
    print(f"| {s.name} | {s.num_layers} | {s.num_heads} | {s.num_kv_heads} | {s.head_dim} "
          f"| [config.json]({s.source}) |")
