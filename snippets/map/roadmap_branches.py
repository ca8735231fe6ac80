"""Print the diagram of each roadmap branch (one per roadmap when it is small)."""

from mlatlas.roadmap import branch_diagrams, load_roadmaps
from mlatlas.trees import mermaid_block

for roadmap in load_roadmaps():
    for title, source in branch_diagrams(roadmap):
        print(f"**{title}**\n")
        print(mermaid_block(source))
