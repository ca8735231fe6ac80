from mlatlas.scaling import load_study

study = load_study()
fit, provenance = study["fit"], study["provenance"]
print("| width | layers | parameters $N$ | non-embedding | tokens $D$ | $D/N$ | held-out loss | seconds |")
print("|--:|--:|--:|--:|--:|--:|--:|--:|")
for run in study["runs"]:
    print(f"| {run['width']} | {run['layers']} | {run['params']:,} | {run['non_embedding_params']:,} "
          f"| {run['tokens']:,} | {run['tokens'] / run['params']:.1f} | {run['loss']:.4f} | {run['seconds']:.1f} |")
print()
print(f"Fitted: $E = {fit['E']:.3f}$, $A = {fit['A']:.4g}$, $B = {fit['B']:.4g}$, "
      f"$\\alpha = {fit['alpha']:.3f}$, $\\beta = {fit['beta']:.3f}$ "
      f"(best of {fit['starts']:,} L-BFGS starts, summed Huber loss {fit['objective']:.2e}).")
print()
for key in ["date", "command", "cpu", "cpu_count", "threads", "load_average_before", "load_average_after",
            "python", "torch", "transformers", "tokenizers", "corpus", "tokenizer", "model", "optimiser", "loss",
            "total_seconds"]:
    print(f"- **{key.replace('_', ' ')}**: {provenance[key]}")
