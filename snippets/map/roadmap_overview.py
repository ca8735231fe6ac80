"""Print the overview diagram: each roadmap with its branches."""

from mlatlas.roadmap import load_roadmaps, overview_mermaid
from mlatlas.trees import mermaid_block

print(mermaid_block(overview_mermaid(load_roadmaps())))
