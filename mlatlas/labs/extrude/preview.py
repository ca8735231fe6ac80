"""Pictures of meshes and images for pages: shaded 3D views and top-view wireframes.

Drawn with matplotlib (imported when called; it is in the ``docs`` extra) into PNG
bytes, which :func:`img_tag` turns into an inline ``<img>`` so that a page needs no
image file. Faces are shaded by one directional light, flat, like a slicer's preview.

Example:
    >>> import numpy as np
    >>> from mlatlas.labs.extrude import relief
    >>> png = views([relief(np.eye(4, dtype=np.uint8) * 255).mesh], ["diagonal"])
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import numpy as np

from mlatlas.labs.extrude.mesh import Mesh

LIGHT = np.array([-0.4, -0.5, 0.77])
"""Direction towards the light (from the upper left, in front)."""

KIND_COLOURS = {"top": "#e8a33d", "wall": "#4f7cba", "base": "#9aa3ad"}
"""Face colours when faces are coloured by kind."""


def face_kinds(mesh: Mesh) -> np.ndarray:
    """``'top'``, ``'wall'`` or ``'base'`` per face: the base is everything facing
    down or lying at or below the plate's top, walls are the other vertical faces."""
    v = mesh.vertices.astype(np.float64)
    f = mesh.faces
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    kinds = np.where(np.abs(n[:, 2]) < 1e-6, "wall", "top").astype(object)
    plate = v[f][:, :, 2].max(axis=1) <= (mesh.base or 0.0) + 1e-6
    kinds[(n[:, 2] < -1e-6) | (plate & (mesh.base is not None))] = "base"
    return kinds


def views(
    meshes: Sequence[Mesh],
    titles: Sequence[str],
    *,
    by_kind: bool = False,
    colour: str = "#d9a441",
    panel: tuple[float, float] = (3.2, 2.6),
    elev: float = 38,
    azim: float = -62,
    columns: int | None = None,
    zsort: str = "max",
) -> bytes:
    """Shaded 3D views of meshes side by side, as PNG bytes.

    Args:
        meshes: The meshes (same scale is not required; each panel fits its mesh).
        titles: One title per panel.
        by_kind: Colour tops, walls and the base differently (:data:`KIND_COLOURS`).
        colour: The colour of every face otherwise (or vertex colours, when present).
        panel: Size of one panel in inches.
        elev: Camera elevation in degrees.
        azim: Camera azimuth in degrees.
        columns: Panels per row (default: all in one row).
        zsort: How matplotlib orders faces by depth (it has no depth buffer);
            ``"max"`` suits a relief seen from above.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgb
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    columns = columns or len(meshes)
    rows = -(-len(meshes) // columns)
    fig = plt.figure(figsize=(panel[0] * columns, panel[1] * rows), dpi=110)
    for k, (mesh, title) in enumerate(zip(meshes, titles, strict=True)):
        ax = fig.add_subplot(rows, columns, k + 1, projection="3d", computed_zorder=False)
        v = mesh.vertices.astype(np.float64)
        tri = v[mesh.faces]
        n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-30)
        light = LIGHT / np.linalg.norm(LIGHT)
        shade = 0.45 + 0.55 * np.clip(n @ light, 0, 1)
        if by_kind:
            base = np.array([to_rgb(KIND_COLOURS[kind]) for kind in face_kinds(mesh)])
        elif mesh.colors is not None:
            base = mesh.colors[mesh.faces][:, :, :3].mean(axis=1) / 255
        else:
            base = np.tile(to_rgb(colour), (len(tri), 1))
        colours = np.clip(base * shade[:, None], 0, 1)
        ax.add_collection3d(Poly3DCollection(tri, facecolors=colours, edgecolors=colours, linewidths=0.1, zsort=zsort))
        lo, hi = v.min(axis=0), v.max(axis=0)
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_zlim(0, hi[2])
        ax.set_box_aspect(np.maximum(hi - np.array([lo[0], lo[1], 0]), 1e-9))
        ax.view_init(elev=elev, azim=azim)
        ax.set_axis_off()
        ax.set_title(title, fontsize=9, pad=0)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=0.93, wspace=0.02, hspace=0.08)
    return _png(fig)


def wireframes(
    meshes: Sequence[Mesh], titles: Sequence[str], *, panel: float = 3.0, columns: int | None = None
) -> bytes:
    """Top views of the edges of every upward face (relief and plate), as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    columns = columns or len(meshes)
    rows = -(-len(meshes) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(panel * columns, (panel + 0.4) * rows), dpi=110, squeeze=False)
    for ax in axes.flat[len(meshes) :]:
        ax.set_axis_off()
    for ax, mesh, title in zip(axes.flat, meshes, titles, strict=False):
        v = mesh.vertices.astype(np.float64)
        tri = v[mesh.faces]
        up = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])[:, 2] > 1e-9
        on_plate = tri[:, :, 2].max(axis=1) <= (mesh.base or 0.0) + 1e-6
        for keep, colour, width in ((up & on_plate, "#9aa3ad", 0.25), (up & ~on_plate, "#30475e", 0.3)):
            flat = tri[keep][:, :, :2]
            segments = np.concatenate([flat[:, [0, 1]], flat[:, [1, 2]], flat[:, [2, 0]]])
            ax.add_collection(LineCollection(segments, linewidths=width, colors=colour))
        ax.set_xlim(v[:, 0].min(), v[:, 0].max())
        ax.set_ylim(v[:, 1].min(), v[:, 1].max())
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.set_title(title, fontsize=9)
    fig.tight_layout(pad=0.6)
    return _png(fig)


def sample_image(size: int = 64) -> np.ndarray:
    """A test picture: an island with two hills and a lake, an islet, on black.

    Colours run from dark green through tan to white with rising luma, so the
    brightness, and so the relief, follows the hills. Deterministic.

    Returns:
        ``(size, size, 3)`` uint8 RGB.
    """
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    hills = (
        0.2
        + 0.8 * np.exp(-((x - 0.36) ** 2 + (y - 0.42) ** 2) / 0.02)
        + 0.55 * np.exp(-((x - 0.62) ** 2 + (y - 0.62) ** 2) / 0.025)
    )
    island = (x - 0.48) ** 2 / 0.15 + (y - 0.5) ** 2 / 0.11 < 1
    lake = (x - 0.64) ** 2 + (y - 0.3) ** 2 < 0.006
    islet = (x - 0.88) ** 2 + (y - 0.86) ** 2 < 0.003
    land = (island & ~lake) | islet
    value = np.clip(hills, 0, 1)
    stops = np.array([0.0, 0.5, 1.0])
    colours = np.array([[30, 95, 45], [175, 150, 90], [250, 250, 248]], float)
    rgb = np.stack([np.interp(value, stops, colours[:, c]) for c in range(3)], axis=-1)
    return np.where(land[..., None], rgb, 0).round().astype(np.uint8)


def image_png(pixels: np.ndarray, scale: int = 4) -> bytes:
    """An image array enlarged ``scale`` times (nearest neighbour), as PNG bytes."""
    from PIL import Image

    a = np.asarray(pixels)
    big = a.repeat(scale, axis=0).repeat(scale, axis=1)
    out = io.BytesIO()
    Image.fromarray(big).save(out, format="PNG")
    return out.getvalue()


def img_tag(png: bytes, alt: str, width: int | None = None) -> str:
    """An inline ``<img>`` with the PNG as a data URL."""
    size = f' width="{width}"' if width else ""
    data = base64.b64encode(png).decode()
    return f'<img alt="{html.escape(alt)}"{size} src="data:image/png;base64,{data}">'


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    out = io.BytesIO()
    fig.savefig(out, format="png", facecolor="white")
    plt.close(fig)
    return out.getvalue()
