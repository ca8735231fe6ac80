import numpy as np

from mlatlas.labs.extrude import extrude

checker = (np.indices((6, 6)).sum(axis=0) % 2 * 255).astype(np.uint8)  # corners touch
ring = np.zeros((9, 9), np.uint8)
ring[1:8, 1:8], ring[3:6, 3:6], ring[4, 4] = 255, 0, 200  # a hole with an island in it
cases = {
    "all black, base 1": (np.zeros((8, 8), np.uint8), 1.0),
    "checkerboard, no base": (checker, None),
    "checkerboard, base 1": (checker, 1.0),
    "ring and island, no base": (ring, None),
}
print(f"{'image':<26}{'watertight':>11}{'consistent':>11}{'bodies':>7}{'volume':>8}")
for name, (image, base) in cases.items():
    mesh = extrude(image, base=base, height=2.0, pixel_size=1.0)
    bodies = len(mesh.split(only_watertight=True))
    print(f"{name:<26}{mesh.is_watertight!s:>11}{mesh.is_winding_consistent!s:>11}{bodies:>7}{mesh.volume:>8.2f}")
