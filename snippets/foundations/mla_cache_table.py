from mlatlas.mla import cache_comparison, mla_shape

shape = mla_shape("deepseek-v2")  # 60 layers, 128 heads of d_h = 128, d_c = 512, d_h^R = 64
print(f"DeepSeek-V2 geometry, bf16 cache; n_h = {shape.num_heads}, d_h = {shape.head_dim}, "
      f"d_c = {shape.kv_rank}, d_h^R = {shape.rope_dim}, {shape.num_layers} layers")
print(f"{'variant':<8} {'elements/token/layer':>21} {'in d_h':>7} {'KiB/token':>10} {'vs MHA':>7}")
for row in cache_comparison(shape, num_groups=8, dtype="bf16"):
    print(f"{row.variant:<8} {row.elements_per_layer:>21,} {row.elements_per_layer / shape.head_dim:>7.2f} "
          f"{row.bytes_per_token / 1024:>10.2f} {row.fraction_of_mha:>7.2%}")
