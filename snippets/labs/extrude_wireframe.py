from mlatlas.labs.extrude import relief
from mlatlas.labs.extrude.preview import img_tag, sample_image, wireframes

image = sample_image(64)
options = {"height": 8.0, "base": 1.0, "pixel_size": 0.5}
meshes, titles = [], []
for tolerance in (None, 0.0, 8 / 255, 0.3):
    mesh = relief(image, max_error=tolerance, **options).mesh
    meshes.append(mesh)
    label = "full grid" if tolerance is None else f"--max-error {tolerance:.3g}"
    titles.append(f"{label}: {len(mesh.faces)} faces")
png = wireframes(meshes, titles, panel=3.3, columns=2)
print(f'<figure markdown="0">{img_tag(png, "top views of the triangles at four tolerances")}')
print(
    "<figcaption>Upward faces seen from above: the relief in blue, the plate in grey. The outline and "
    "the image border are simplified too; flat regions (the plate, the plateaus) merge at zero error."
    "</figcaption></figure>"
)
