from mlatlas.labs.extrude import relief
from mlatlas.labs.extrude.preview import sample_image

image = sample_image(128)
options = {"height": 8.0, "base": 1.0, "pixel_size": 0.25}
full = relief(image, **options).mesh
print(f"{'max_error':>10}{'faces':>9}{'of full':>9}{'bound':>9}   (height 8: one grey level is {8 / 255:.3f})")
print(f"{'full grid':>10}{len(full.faces):>9}{'100%':>9}{0:>9.3f}")
for tolerance in (0, 8 / 255 / 2, 8 / 255, 0.1, 0.3, 1.0):
    mesh = relief(image, max_error=tolerance, **options).mesh
    share = len(mesh.faces) / len(full.faces)
    print(f"{tolerance:>10.3f}{len(mesh.faces):>9}{share:>9.1%}{mesh.max_error:>9.3f}")
