"""Print the papers of the asynchronous-HPC tree, by branch."""

from mlatlas.trees import hpc_pattern_tree, papers

branches = hpc_pattern_tree().groups
print("| branch | paper |")
print("|---|---|")
for branch, title in branches.items():
    for paper in papers("hpc-async"):
        if paper.branch == branch:
            print(f"| {title} | **{paper.short}**: {paper.citation()} |")
