from mlatlas.labs.extrude import relief
from mlatlas.labs.extrude.preview import image_png, img_tag, sample_image, views

image = sample_image(48)
common = {"height": 6.0, "base": 1.0, "pixel_size": 0.5}
variants = {
    "defaults": {},
    "--colors": {"colors": True},
    "--invert": {"invert": True},
    "--gamma 2.5": {"gamma": 2.5},
    "--smooth 1.5": {"smooth": 1.5},
    "--base none": {"base": None},
    "--black-threshold 0.5": {"black_threshold": 0.5},
    "--max-size 16": {"max_size": 16, "pixel_size": 1.5},
}
meshes = [relief(image, **{**common, **options}).mesh for options in variants.values()]
print(f'<figure markdown="0">{img_tag(image_png(image, 3), "the input image, 48 by 48 pixels", width=144)}')
print(
    "<figcaption>The input, made at build time: 48 x 48 pixels, an island with two hills, "
    "a black lake and an islet, on black.</figcaption></figure>"
)
png = views(meshes, list(variants), columns=4, panel=(2.3, 2.0))
print(f'<figure markdown="0">{img_tag(png, "the same image under eight sets of options")}')
print("<figcaption>Height 6, plate 1, pixel 0.5 (model units), unless the title says otherwise.</figcaption></figure>")
