import numpy as np

import mlatlas
from mlatlas.labs.extrude.preview import sample_image

image = sample_image(64)  # 64 x 64 RGB: an island with a lake and an islet, on black
mesh = mlatlas.extrude(image, height=4.0, base=1.0, pixel_size=0.5)

print("watertight:", mesh.is_watertight, "| winding consistent:", mesh.is_winding_consistent)
print("vertices:", len(mesh.vertices), "| faces:", len(mesh.faces))
print("bounds (x, y, z):", np.round(mesh.bounds, 3).tolist())
print("volume:", round(float(mesh.volume), 2), "(model units cubed)")
