from mlatlas.roadmap import load_roadmap, progress

roadmap = load_roadmap("roadmap")
ticked = ["mle/python", "mle/numpy", "mle/pytorch", "mle/attention"]
for branch, (done, total) in progress(roadmap, ticked).items():
    if done:
        print(f"{roadmap.nodes[branch].label}: {done} / {total}")
