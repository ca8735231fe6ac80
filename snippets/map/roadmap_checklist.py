"""Print the roadmaps as checklists (HTML); docs/javascripts/checklist.js keeps the ticks."""

from mlatlas.roadmap import checklist_html, load_roadmaps

for roadmap in load_roadmaps():
    print(checklist_html(roadmap, page="map/roadmap.md"))
