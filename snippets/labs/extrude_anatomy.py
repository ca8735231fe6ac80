import numpy as np

from mlatlas.labs.extrude import relief
from mlatlas.labs.extrude.preview import face_kinds, img_tag, views

# 7 x 7 pixels: a ring with a hole, a brighter pixel, and two pixels touching a corner.
image = np.array(
    [
        [0, 0, 0, 0, 0, 0, 0],
        [0, 160, 160, 160, 160, 0, 0],
        [0, 160, 0, 0, 160, 0, 0],
        [0, 160, 0, 0, 255, 0, 0],
        [0, 160, 160, 160, 160, 0, 0],
        [0, 0, 0, 0, 0, 200, 0],
        [0, 0, 0, 0, 0, 0, 200],
    ],
    np.uint8,
)
with_base = relief(image, height=2.0, base=0.6, pixel_size=1.0).mesh
cut_out = relief(image, height=2.0, base=None, pixel_size=1.0).mesh
png = views(
    [with_base, cut_out],
    ["base 0.6: black is the plate", "base none: black is cut out"],
    by_kind=True,
    panel=(4.2, 3.2),
)
counts = {kind: int((face_kinds(with_base) == kind).sum()) for kind in ("top", "wall", "base")}
print(f'<figure markdown="0">{img_tag(png, "a 7 by 7 pixel image extruded with and without a base")}')
print(
    f"<figcaption>The left model has {counts['top']} top faces (orange), {counts['wall']} wall faces (blue) "
    f"and {counts['base']} plate faces (grey). The two pixels at the bottom right touch at one corner: "
    "on the right they are two closed bodies.</figcaption></figure>"
)
