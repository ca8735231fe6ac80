"""Print each paper's key terms by TF-IDF next to the terms seed note 001 printed."""

from mlatlas.trees import STOP_WORDS, keywords, paper_texts, papers

hpc = papers("hpc-async")
print("| paper | key terms (TF-IDF weight) | seed note's terms: stop words among them |")
print("|---|---|---|")
for paper, ranked in zip(hpc, keywords(paper_texts(hpc), top=5), strict=True):
    ours = ", ".join(f"{term} ({weight:.3f})" for term, weight in ranked)
    stop = [t for t in paper.seed_terms if t in STOP_WORDS or t.isdigit() or len(t) == 1]
    print(f"| {paper.short} | {ours} | {len(stop)} of {len(paper.seed_terms)}: {', '.join(stop)} |")
