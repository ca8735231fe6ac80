"""Print what each roadmap holds and which seed note it comes from."""

from mlatlas.roadmap import load_roadmaps, sources_table

print(sources_table(load_roadmaps()))
