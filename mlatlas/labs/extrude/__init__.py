"""Image to 3D relief: brighter pixels stand taller, black pixels are transparent.

An image becomes a height field (:mod:`.image`: luma, gamma, resampling, smoothing,
or a depth model), the height field a closed triangle mesh (:mod:`.mesh`), the mesh
optionally a much smaller one within a proven height error (:mod:`.rtin`, then
:mod:`.refine`), and the result a ``.glb``, ``.obj`` or ``.stl`` file (:mod:`.export`).

:func:`extrude` returns a :class:`trimesh.Trimesh`; :func:`relief` returns the plain
arrays with timings, which is what ``mlatlas extrude`` uses.

**One mesh, one or several bodies.** The result is always a single mesh in which
every edge joins exactly two faces with opposite directions (watertight and
consistently wound), no face has zero area, and the faces around every vertex form
one fan (manifold). With a base it is one body. With ``base=None`` each island of
on pixels is its own closed body: islands that touch only at a corner stay separate
bodies that meet along a vertical line without sharing a vertex; ``Trimesh.split()``
separates them.

Example:
    >>> import numpy as np
    >>> image = np.zeros((8, 8), np.uint8); image[2:6, 2:6] = 255   # a white square on black
    >>> mesh = extrude(image, height=2.0, base=1.0, pixel_size=0.5)
    >>> mesh.is_watertight, mesh.is_winding_consistent
    (True, True)
    >>> mesh.bounds.tolist()                                         # 8 x 0.5 wide, 1 + 2 tall
    [[0.0, 0.0, 0.0], [4.0, 4.0, 3.0]]
    >>> round(float(mesh.volume), 6)                                 # plate 4 x 4 x 1 + block 2 x 2 x 2
    24.0
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlatlas.errors import MlatlasError
from mlatlas.labs.extrude.image import MAX_MESH_PIXELS, Picture, depth_map, from_array, height_field, read_image
from mlatlas.labs.extrude.mesh import Mesh, Progress, build_mesh

if TYPE_CHECKING:
    import trimesh

__all__ = ["MIN_RELIEF", "Relief", "extrude", "relief"]

MIN_RELIEF = 1e-3
"""Every extruded pixel stands at least this fraction of ``height`` above the base,
so a pixel just above the black threshold still has walls with area (and, without a
base, a body with thickness)."""


@dataclass
class Relief:
    """A relief mesh with what it was made from.

    Attributes:
        mesh: The triangle mesh (plain arrays).
        image_size: ``(width, height)`` of the input image in pixels.
        grid_size: ``(width, height)`` of the pixel grid the mesh was built on.
        on_pixels: How many pixels were extruded.
        timings: Seconds per step.
    """

    mesh: Mesh
    image_size: tuple[int, int]
    grid_size: tuple[int, int]
    on_pixels: int
    timings: dict[str, float] = field(default_factory=dict)

    def to_trimesh(self) -> trimesh.Trimesh:
        """The mesh as a :class:`trimesh.Trimesh` (not merged or reprocessed)."""
        import trimesh

        colors = None if self.mesh.colors is None else self.mesh.colors
        return trimesh.Trimesh(self.mesh.vertices, self.mesh.faces, vertex_colors=colors, process=False, validate=False)

    def summary(self) -> dict[str, Any]:
        """Counts, bounds, volume, error bound and timings, as plain JSON-ready values."""
        bounds = self.mesh.bounds()
        return {
            "image_size": list(self.image_size),
            "grid_size": list(self.grid_size),
            "on_pixels": self.on_pixels,
            "vertices": len(self.mesh.vertices),
            "faces": len(self.mesh.faces),
            "bounds": [[float(f"{v:.7g}") for v in bounds[0]], [float(f"{v:.7g}") for v in bounds[1]]],
            "volume": self.mesh.volume(),
            "decimated": self.mesh.decimated,
            "max_error": self.mesh.max_error,
            "timings_s": {k: round(v, 4) for k, v in self.timings.items()},
        }


def relief(
    image: str | Path | np.ndarray | Any,
    *,
    height: float = 5.0,
    base: float | None = 1.0,
    pixel_size: float = 0.1,
    invert: bool = False,
    gamma: float = 1.0,
    smooth: float = 0.0,
    max_size: int | None = None,
    black_threshold: float | None = 0.0,
    colors: bool = False,
    max_error: float | None = None,
    decimate: int | None = None,
    depth_model: str | Path | None = None,
    progress: Progress | None = None,
) -> Relief:
    """Build a relief mesh from an image; see :func:`extrude` for the arguments.

    Returns:
        The mesh as arrays, with sizes and timings.
    """
    _check(
        height=height,
        base=base,
        pixel_size=pixel_size,
        gamma=gamma,
        smooth=smooth,
        max_size=max_size,
        black_threshold=black_threshold,
        max_error=max_error,
        decimate=decimate,
    )
    note = progress or (lambda step, fraction: None)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now

    note("reading", 0.0)
    picture = _picture(image)
    lap("read")
    depth = None
    if depth_model is not None:
        note("depth model", 0.0)
        depth = depth_map(depth_model, picture)
        lap("depth_model")
    note("height field", 0.0)
    field_ = height_field(
        picture,
        invert=invert,
        gamma=gamma,
        black_threshold=black_threshold,
        max_size=max_size,
        smooth=smooth,
        depth=depth,
    )
    H, W = field_.on.shape
    if H * W > MAX_MESH_PIXELS:
        raise MlatlasError(
            f"{picture.name} is {W}x{H} = {W * H:,} pixels; a mesh is built from at most {MAX_MESH_PIXELS:,}: "
            f"pass --max-size {math.isqrt(MAX_MESH_PIXELS)} (max_size=) to resample it"
        )
    on_pixels = int(field_.on.sum())
    if base is None and on_pixels == 0:
        raise MlatlasError(
            f"{picture.name}: every pixel is at or below the black threshold and there is no base: nothing to extrude"
        )
    values = np.maximum(np.float32(height) * field_.value, np.float32(height * MIN_RELIEF))
    rgb = field_.rgb if colors else None
    lap("height_field")
    mesh = build_mesh(
        values,
        field_.on,
        base=base,
        pixel_size=pixel_size,
        colors=rgb,
        max_error=max_error,
        target_faces=decimate,
        progress=progress,
    )
    lap("mesh")
    return Relief(mesh, picture.size, (W, H), on_pixels, timings)


def extrude(
    image: str | Path | np.ndarray | Any,
    *,
    height: float = 5.0,
    base: float | None = 1.0,
    pixel_size: float = 0.1,
    invert: bool = False,
    gamma: float = 1.0,
    smooth: float = 0.0,
    max_size: int | None = None,
    black_threshold: float | None = 0.0,
    colors: bool = False,
    max_error: float | None = None,
    decimate: int | None = None,
    depth_model: str | Path | None = None,
    progress: Progress | None = None,
) -> trimesh.Trimesh:
    """Turn an image into a closed relief mesh.

    Args:
        image: A file path, a PIL image, or an array (see
            :func:`~mlatlas.labs.extrude.image.from_array`).
        height: Relief of a white pixel above the base, in model units.
        base: Plate thickness under the whole image, or ``None`` for no plate:
            black regions become holes and each island its own body.
        pixel_size: Side of one pixel (after resampling), in model units.
        invert: Dark stands tall; black stays transparent.
        gamma: Height is ``value ** gamma``.
        smooth: Gaussian blur of the heights, standard deviation in pixels.
        max_size: Resample so the longer side has at most this many pixels.
        black_threshold: Luma in ``[0, 1)`` at or below which a pixel is not
            extruded; ``None``: only transparent pixels are left out.
        colors: Give vertices the image's colours.
        max_error: Simplify the top surface within this height error (model
            units); 0 merges exactly flat regions only.
        decimate: Simplify to at most this many faces (when reachable).
        depth_model: Folder of a local ``transformers`` depth-estimation model;
            its relative depth replaces brightness as the height.
        progress: Optional ``progress(step, fraction)`` callback.

    Returns:
        A watertight, consistently wound, manifold :class:`trimesh.Trimesh` with
        positive volume. Its top is ``base + height * value`` at the brightest
        pixel, its footprint ``width * pixel_size`` by ``height * pixel_size``.

    Raises:
        MlatlasError: Bad options or an image that cannot be used.
    """
    return relief(
        image,
        height=height,
        base=base,
        pixel_size=pixel_size,
        invert=invert,
        gamma=gamma,
        smooth=smooth,
        max_size=max_size,
        black_threshold=black_threshold,
        colors=colors,
        max_error=max_error,
        decimate=decimate,
        depth_model=depth_model,
        progress=progress,
    ).to_trimesh()


def _picture(image: Any) -> Picture:
    if isinstance(image, (str, Path)):
        return read_image(image)
    if isinstance(image, np.ndarray):
        return from_array(image)
    if hasattr(image, "mode") and hasattr(image, "size"):  # a PIL image
        from mlatlas.labs.extrude.image import _from_pil

        return _from_pil(image, "image")
    raise MlatlasError(f"cannot read an image from a {type(image).__name__}")


LENGTHS = (1e-6, 1e6)
"""The range of every length option (height, base, pixel size, max error), in model units.

A relief is at most a few thousand pixels across and stored as float32, which holds
about seven significant digits from 1e-38 to 3e38: twelve orders of magnitude of
lengths keep every coordinate finite and every pixel a distinct, non-degenerate step
(a micrometre to a kilometre, in millimetres).
"""


def _check(*, height, base, pixel_size, gamma, smooth, max_size, black_threshold, max_error, decimate) -> None:
    """One clear sentence for each option out of range."""

    def positive(name: str, value: Any) -> None:
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise MlatlasError(f"{name} must be a positive number, got {value!r}")

    def length(name: str, value: Any, smallest: float = LENGTHS[0]) -> None:
        if not isinstance(value, (int, float)) or not math.isfinite(value) or not smallest <= value <= LENGTHS[1]:
            low = "0" if smallest == 0 else f"{smallest:g}"
            raise MlatlasError(
                f"{name} must be from {low} to {LENGTHS[1]:g} model units (so float32 coordinates stay finite "
                f"and distinct), got {value!r}"
            )

    length("height", height)
    length("pixel size", pixel_size)
    positive("gamma", gamma)
    if base is not None:
        length("base (or none)", base)
    if not isinstance(smooth, (int, float)) or not math.isfinite(smooth) or smooth < 0:
        raise MlatlasError(f"smooth must be 0 or a positive number of pixels, got {smooth!r}")
    if max_size is not None and (not isinstance(max_size, int) or max_size < 1):
        raise MlatlasError(f"max size must be a positive whole number of pixels, got {max_size!r}")
    if black_threshold is not None and (not isinstance(black_threshold, (int, float)) or not 0 <= black_threshold < 1):
        raise MlatlasError(f"black threshold must be in [0, 1) (or none), got {black_threshold!r}")
    if max_error is not None and decimate is not None:
        raise MlatlasError("give either a maximum error or a face budget, not both")
    if max_error is not None:
        length("max error", max_error, smallest=0)
    if decimate is not None and (not isinstance(decimate, int) or decimate < 1):
        raise MlatlasError(f"the face budget must be a positive whole number, got {decimate!r}")
