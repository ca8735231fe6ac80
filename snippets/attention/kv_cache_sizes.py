from mlatlas.attention import kv_cache_bytes, model_shape

for name in ["llama-2-7b", "llama-3-8b"]:
    shape = model_shape(name)
    per_token = kv_cache_bytes(shape, seq_len=1)
    full = kv_cache_bytes(shape, seq_len=128 * 1024, batch_size=1, dtype="bf16")
    print(f"{name} ({shape.kind}): {per_token / 1024:.0f} KiB per token, "
          f"{full / 2**30:.0f} GiB for a 128Ki-token context")
