"""Image to 3D relief: the mesh is closed and clean for every image, the options land
where they should, bad input fails in one line, and files round-trip through trimesh.

Random images (hypothesis) check the invariants; hand-made ones check the cases that
break naive extruders: all black, islands, holes, pixels touching only at a corner.
The command line is run as a subprocess, as a user runs it.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import trimesh
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

import mlatlas
from conftest import ROOT, run_env
from mlatlas.errors import MlatlasError
from mlatlas.labs.extrude import MIN_RELIEF, extrude, relief
from mlatlas.labs.extrude.export import srgb_bytes, write
from mlatlas.labs.extrude.image import MAX_IMAGE_PIXELS, MAX_MESH_PIXELS, REC709
from mlatlas.labs.extrude.mesh import build_mesh

# No example database: it would write .hypothesis/ into the checkout.
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


# --- what every mesh must be -------------------------------------------------------


def vertex_links_are_single_fans(faces: np.ndarray) -> bool:
    """Around every vertex the faces form one cycle (no pinched, bow-tie vertex)."""
    following: dict[int, dict[int, int]] = defaultdict(dict)
    for a, b, c in faces.tolist():
        for v, p, q in ((a, b, c), (b, c, a), (c, a, b)):
            if p in following[v]:
                return False  # the same directed edge twice
            following[v][p] = q
    for links in following.values():
        start = next(iter(links))
        node, steps = links[start], 1
        while node != start:
            if node not in links or steps > len(links):
                return False
            node, steps = links[node], steps + 1
        if steps != len(links):
            return False  # a second cycle around the same vertex
    return True


def assert_clean(mesh: trimesh.Trimesh) -> None:
    assert mesh.is_watertight, "every edge must join exactly two faces"
    assert mesh.is_winding_consistent, "neighbouring faces must agree on orientation"
    assert mesh.volume > 0, "outward normals enclose a positive volume"
    assert mesh.nondegenerate_faces().all(), "no zero-area face"
    assert vertex_links_are_single_fans(mesh.faces), "every vertex must be manifold"


def luma(pixels: np.ndarray) -> np.ndarray:
    """Rec. 709 luma, written out here independently of the lab."""
    if pixels.ndim == 2:
        return pixels / 255.0
    return (REC709[0] * pixels[..., 0] + REC709[1] * pixels[..., 1] + REC709[2] * pixels[..., 2]) / 255.0


@st.composite
def images(draw) -> np.ndarray:
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kind = draw(st.sampled_from(["grey", "binary", "rgb", "rgba"]))
    if kind == "binary":  # black and white: every corner configuration, diagonals included
        return draw(arrays(np.uint8, (h, w), elements=st.sampled_from([0, 255])))
    shape = {"grey": (h, w), "rgb": (h, w, 3), "rgba": (h, w, 4)}[kind]
    return draw(arrays(np.uint8, shape, elements=st.integers(0, 255) | st.sampled_from([0, 0, 255])))


options = st.fixed_dictionaries(
    {
        "height": st.floats(0.1, 10),
        "base": st.none() | st.floats(0.1, 3),
        "pixel_size": st.floats(0.05, 2),
        "gamma": st.floats(0.3, 3),
        "invert": st.booleans(),
        "black_threshold": st.none() | st.just(0.0) | st.floats(0, 0.9),
        "colors": st.booleans(),
    }
)
simplify = (
    st.none()
    | st.builds(lambda e: {"max_error": e}, st.floats(0, 3))
    | st.builds(lambda n: {"decimate": n}, st.integers(1, 400))
)


@FAST
@given(images(), options, simplify)
def test_any_image_gives_a_clean_mesh_with_the_requested_bounds(pixels, opts, simp) -> None:
    """Watertight, consistently wound, manifold, positive volume; x/y from the image and
    pixel size, z from the base and the brightest extruded pixel."""
    h, w = pixels.shape[:2]
    y = luma(pixels)
    on = np.ones((h, w), bool) if opts["black_threshold"] is None else y > opts["black_threshold"]
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        on &= pixels[..., 3] > 0
    base = opts["base"]
    if base is None and not on.any():
        with pytest.raises(MlatlasError, match="nothing to extrude"):
            extrude(pixels, **opts, **(simp or {}))
        return
    mesh = extrude(pixels, **opts, **(simp or {}))
    assert_clean(mesh)
    px = opts["pixel_size"]
    if base is not None:
        x0, x1, y0, y1 = 0, w * px, 0, h * px
    else:
        rows, cols = np.nonzero(on)
        x0, x1 = cols.min() * px, (cols.max() + 1) * px
        y0, y1 = (h - rows.max() - 1) * px, (h - rows.min()) * px
    value = 1 - y if opts["invert"] else y
    relief_max = (
        max(opts["height"] * value[on].max() ** opts["gamma"], opts["height"] * MIN_RELIEF) if on.any() else 0.0
    )
    z1 = (base or 0.0) + relief_max
    np.testing.assert_allclose(mesh.bounds, [[x0, y0, 0], [x1, y1, z1]], rtol=1e-5, atol=1e-5)
    if opts["colors"]:
        assert mesh.visual.vertex_colors.shape == (len(mesh.vertices), 4)


def top_surface_heights(mesh, shape, pixel_size, floor) -> np.ndarray:
    """The top surface's height at every grid point (NaN where there is none)."""
    h, w = shape
    out = np.full((h + 1, w + 1), np.nan)
    v = mesh.vertices.astype(np.float64) / [pixel_size, pixel_size, 1]
    for face in mesh.faces:
        p = v[face]
        normal_z = np.cross(p[1] - p[0], p[2] - p[0])[2]
        if normal_z <= 1e-12 or np.all(p[:, 2] <= floor + 1e-9):
            continue  # walls, bottoms and the flat base
        xs, ys = np.meshgrid(
            np.arange(np.floor(p[:, 0].min()), np.ceil(p[:, 0].max()) + 1),
            np.arange(np.floor(p[:, 1].min()), np.ceil(p[:, 1].max()) + 1),
        )
        xs, ys = xs.ravel(), ys.ravel()
        lam = np.linalg.solve(np.vstack([p[:, 0], p[:, 1], np.ones(3)]), np.vstack([xs, ys, np.ones_like(xs)]))
        inside = (lam > -1e-9).all(axis=0)
        z = lam[:, inside].T @ p[:, 2]
        i, j = (h - ys[inside]).astype(int), xs[inside].astype(int)
        out[i, j] = np.fmax(out[i, j], z)
    return out


@settings(max_examples=40, deadline=None, database=None)
@given(st.integers(2, 12), st.integers(2, 12), st.floats(0, 1.5), st.integers(0, 2**32 - 1), st.booleans())
def test_simplification_stays_within_its_error_bound(h, w, tolerance, seed, with_base) -> None:
    """Everywhere on the top, the simplified surface is within the reported bound of the
    full grid, the bound is at most the tolerance, and the mesh is still clean."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    heights = (np.sin(xx / 2.5) + np.cos(yy / 3.5) + 2.1 + 0.2 * rng.random((h, w))).astype(np.float32)
    heights[rng.random((h, w)) < 0.3] = 1.0  # flat patches
    on = rng.random((h, w)) > 0.15
    base = 1.0 if with_base else None
    if not on.any():
        on[0, 0] = True
    full = build_mesh(heights, on, base=base)
    simple = build_mesh(heights, on, base=base, max_error=tolerance)
    assert simple.max_error <= tolerance
    mesh = trimesh.Trimesh(simple.vertices, simple.faces, process=False)
    assert_clean(mesh)
    a = top_surface_heights(trimesh.Trimesh(full.vertices, full.faces, process=False), (h, w), 1.0, base or 0.0)
    b = top_surface_heights(mesh, (h, w), 1.0, base or 0.0)
    both = ~np.isnan(a) & ~np.isnan(b)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    assert np.abs(a - b)[both].max(initial=0) <= simple.max_error + 1e-5
    assert len(simple.faces) <= len(full.faces)


def brute_force_errors(z: np.ndarray, keep: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """rtin.error_bounds by enumeration: every triangle of the hierarchy, one at a time."""
    from mlatlas.labs.extrude import rtin

    tiles, n, _ = z.shape
    size = n - 1
    E = np.zeros(z.shape)
    ii, jj = np.mgrid[: size + 1, : size + 1]

    def error(t, apex, code, twice_h):
        a, b, c = (x[0] for x in rtin._corners(np.array([apex]), np.array([code]), twice_h))
        A = np.array([[a[0], b[0], c[0]], [a[1], b[1], c[1]], [1, 1, 1]], float)
        lo, hi = np.minimum.reduce([a, b, c]), np.maximum.reduce([a, b, c])
        seen = {
            int(classes[t, r, q])
            for r in range(lo[0], hi[0])
            for q in range(lo[1], hi[1])
            if (np.linalg.solve(A, [r + 0.5, q + 0.5, 1]) > 1e-9).all()
            or any(
                (np.linalg.solve(A, [r + dr, q + dq, 1]) > 1e-9).all()
                for dr, dq in ((0.25, 0.5), (0.75, 0.5), (0.5, 0.25), (0.5, 0.75))
            )
        }
        if len(seen) > 1:
            return np.inf
        if seen != {rtin.ON}:
            return 0.0
        rows = ii[lo[0] : hi[0] + 1, lo[1] : hi[1] + 1].ravel()
        cols = jj[lo[0] : hi[0] + 1, lo[1] : hi[1] + 1].ravel()
        lam = np.linalg.solve(A, np.vstack([rows, cols, np.ones_like(rows)]))
        inside = (lam > -1e-9).all(axis=0)
        plane = lam[0] * z[t, a[0], a[1]] + lam[1] * z[t, b[0], b[1]] + lam[2] * z[t, c[0], c[1]]
        return np.abs(z[t, rows, cols] - plane)[inside].max()

    for t in range(tiles):
        levels, level = [], [((0, size), 3, size), ((size, 0), 7, size)]
        while level:  # (apex, direction, twice the apex-to-midpoint step)
            levels.append(level)
            level = [
                (
                    (apex[0] + h2 // 2 * rtin._DIRS[code][0], apex[1] + h2 // 2 * rtin._DIRS[code][1]),
                    (code + turn) % 8,
                    h2 if code % 2 else h2 // 2,
                )
                for apex, code, h2 in level
                if h2 > 1
                for turn in (3, 5)
            ]
        for level in reversed(levels):
            for apex, code, h2 in level:
                if h2 == 1:
                    continue
                m = (apex[0] + h2 // 2 * rtin._DIRS[code][0], apex[1] + h2 // 2 * rtin._DIRS[code][1])
                E[t, m[0], m[1]] = max(E[t, m[0], m[1]], error(t, apex, code, h2))
                if keep[t, m[0], m[1]]:
                    E[t, m[0], m[1]] = np.inf
                child_h2 = h2 if code % 2 else h2 // 2
                for turn in (3, 5) if child_h2 > 1 else ():
                    cc = (code + turn) % 8
                    cm = (m[0] + child_h2 // 2 * rtin._DIRS[cc][0], m[1] + child_h2 // 2 * rtin._DIRS[cc][1])
                    E[t, m[0], m[1]] = max(E[t, m[0], m[1]], E[t, cm[0], cm[1]])
    return E


@pytest.mark.parametrize("size", [2, 4, 8, 32])
def test_the_array_errors_equal_a_triangle_by_triangle_count(size: int) -> None:
    """Every level's vectorised error, purity and monotone raise match brute force."""
    from mlatlas.labs.extrude import rtin

    rng = np.random.default_rng(size)
    z = rng.random((2, size + 1, size + 1)).astype(np.float32)
    classes = np.where(
        rng.random((2, size, size)) < 0.8, rtin.ON, rng.choice([rtin.OFF, rtin.PAD], (2, size, size))
    ).astype(np.uint8)
    classes[0] = rtin.ON  # one tile all on: the errors everywhere
    keep = rng.random(z.shape) < 0.03
    fast = rtin.error_bounds(z, keep, classes)
    slow = brute_force_errors(z.astype(np.float64), keep, classes)
    np.testing.assert_array_equal(np.isinf(fast), np.isinf(slow))
    finite = np.isfinite(slow)
    np.testing.assert_allclose(fast[finite], slow[finite], atol=1e-5)


def test_zero_error_merges_flat_regions_without_changing_the_shape() -> None:
    image = np.zeros((64, 64), np.uint8)
    image[8:56, 8:56] = 128
    image[24:40, 24:40] = 255
    full = relief(image)
    merged = relief(image, max_error=0)
    assert merged.mesh.max_error == 0
    assert len(merged.mesh.faces) < len(full.mesh.faces) / 10
    assert merged.mesh.volume() == pytest.approx(full.mesh.volume(), rel=1e-6)
    np.testing.assert_allclose(merged.mesh.bounds(), full.mesh.bounds())


def test_a_face_budget_is_met_with_the_smallest_error() -> None:
    yy, xx = np.mgrid[:48, :48]
    image = (127 + 120 * np.sin(xx / 6) * np.cos(yy / 9)).astype(np.uint8)
    counts, errors = [], []
    for budget in (400, 1500, 6000):
        r = relief(image, decimate=budget)
        assert len(r.mesh.faces) <= budget
        assert_clean(r.to_trimesh())
        counts.append(len(r.mesh.faces))
        errors.append(r.mesh.max_error)
    assert counts == sorted(counts) and errors == sorted(errors, reverse=True)
    tiny = relief(image, decimate=1)  # below the walls and outline: the coarsest closed mesh
    assert_clean(tiny.to_trimesh())


# --- the cases that break naive extruders ------------------------------------------


def test_all_black_with_a_base_is_the_plate_alone() -> None:
    r = relief(np.zeros((5, 7), np.uint8), base=2.0, pixel_size=1.0)
    mesh = r.to_trimesh()
    assert_clean(mesh)
    assert mesh.volume == pytest.approx(5 * 7 * 2.0)
    np.testing.assert_allclose(mesh.bounds, [[0, 0, 0], [7, 5, 2]])
    assert r.on_pixels == 0


def test_all_black_without_a_base_is_an_error() -> None:
    with pytest.raises(MlatlasError, match="nothing to extrude"):
        extrude(np.zeros((4, 4), np.uint8), base=None)


def test_islands_and_holes() -> None:
    ring = np.zeros((9, 9), np.uint8)
    ring[1:8, 1:8] = 255
    ring[3:6, 3:6] = 0  # a hole
    ring[4, 4] = 200  # an island inside the hole
    mesh = extrude(ring, base=None, pixel_size=1.0, height=1.0)
    assert_clean(mesh)
    bodies = mesh.split(only_watertight=True)
    assert len(bodies) == 2
    euler = sorted(b.euler_number for b in bodies)
    assert euler == [0, 2]  # the ring is a torus (genus 1), the island a sphere
    assert mesh.volume == pytest.approx((49 - 9) * 1.0 + 200 / 255, rel=1e-5)
    with_base = extrude(ring, base=0.5, pixel_size=1.0, height=1.0)
    assert_clean(with_base)
    assert len(with_base.split(only_watertight=True)) == 1


def test_pixels_touching_only_at_corners_stay_manifold() -> None:
    checker = (np.indices((6, 6)).sum(axis=0) % 2 * 255).astype(np.uint8)
    mesh = extrude(checker, base=None, pixel_size=1.0, height=2.0)
    assert_clean(mesh)
    bodies = mesh.split(only_watertight=True)
    assert len(bodies) == 18  # every white pixel is its own closed box
    assert all(b.volume == pytest.approx(2.0) for b in bodies)
    with_base = extrude(checker, base=1.0, pixel_size=1.0, height=2.0, max_error=0)
    assert_clean(with_base)
    assert with_base.volume == pytest.approx(36 + 18 * 2.0)


def test_brightness_is_rec709_luma_and_16_bit_grey_keeps_its_levels(tmp_path: Path) -> None:
    green = np.zeros((3, 3, 3), np.uint8)
    green[...] = (0, 255, 0)
    assert extrude(green, height=1.0, base=None).bounds[1, 2] == pytest.approx(0.7152, rel=1e-5)
    deep = np.full((4, 4), 1000, np.uint16)  # 1000/65535: between two 8-bit levels
    Image.fromarray(deep).save(tmp_path / "deep.png")
    top = extrude(tmp_path / "deep.png", height=65.535, base=None).bounds[1, 2]
    assert top == pytest.approx(1.0, rel=1e-5)


def test_invert_gamma_smooth_and_resampling() -> None:
    image = np.full((40, 60), 200, np.uint8)
    image[:, :20] = 0
    inverted = extrude(image, invert=True, height=1.0, base=None)
    assert inverted.bounds[1, 2] == pytest.approx(1 - 200 / 255, rel=1e-5)  # black stays out
    assert inverted.bounds[0, 0] == pytest.approx(20 * 0.1)
    assert extrude(image, gamma=2, height=1.0, base=None).bounds[1, 2] == pytest.approx((200 / 255) ** 2, rel=1e-5)
    small = relief(image, max_size=15)
    assert small.grid_size == (15, 10) and small.image_size == (60, 40)
    np.testing.assert_allclose(small.mesh.bounds()[1, :2], [1.5, 1.0], rtol=1e-6)
    blocks = np.full((32, 32), 40, np.uint8)
    blocks[np.kron(np.eye(4, dtype=bool), np.ones((8, 8), bool))] = 255
    blocks[:4, -4:] = 0
    sharp, smooth = relief(blocks, max_error=0), relief(blocks, smooth=2.0, max_error=0)
    assert_clean(smooth.to_trimesh())
    assert smooth.on_pixels == sharp.on_pixels  # smoothing never changes what is extruded
    assert len(smooth.mesh.faces) > len(sharp.mesh.faces)  # the steps became slopes


# --- files -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def picture(tmp_path_factory) -> Path:
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    pixels[rng.random((24, 32)) < 0.2] = 0
    path = tmp_path_factory.mktemp("img") / "picture.png"
    Image.fromarray(pixels).save(path)
    return path


@pytest.mark.parametrize("suffix", [".glb", ".obj", ".stl"])
def test_files_round_trip_through_trimesh(picture: Path, tmp_path: Path, suffix: str) -> None:
    r = relief(picture, base=None, colors=suffix != ".stl")
    out = write(r.mesh, tmp_path / f"relief{suffix}")
    loaded = trimesh.load(out, force="mesh", process=False)
    assert len(loaded.faces) == len(r.mesh.faces)
    assert loaded.volume == pytest.approx(r.mesh.volume(), rel=1e-5)
    if suffix != ".stl":  # STL repeats vertices per triangle
        assert len(loaded.vertices) == len(r.mesh.vertices)
        assert loaded.is_watertight and loaded.is_winding_consistent
    assert [p.name for p in tmp_path.iterdir()] == [f"relief{suffix}"]  # no temporary left


def test_glb_carries_the_image_colours(picture: Path, tmp_path: Path) -> None:
    r = relief(picture, colors=True)
    out = write(r.mesh, tmp_path / "relief.glb")
    data = out.read_bytes()
    (json_length,) = struct.unpack("<I", data[12:16])
    gltf = json.loads(data[20 : 20 + json_length])
    assert "COLOR_0" in gltf["meshes"][0]["primitives"][0]["attributes"]
    assert gltf["accessors"][2]["componentType"] == 5123  # normalised uint16, linear as glTF requires
    (geometry,) = trimesh.load(out, process=False).geometry.values()
    np.testing.assert_array_equal(srgb_bytes(geometry.visual.vertex_attributes["color"]), r.mesh.colors)
    assert len(set(map(tuple, r.mesh.colors[:, :3]))) > 50


def test_import_mlatlas_stays_cheap_and_exports_extrude() -> None:
    code = (
        "import sys, mlatlas; assert 'trimesh' not in sys.modules and 'PIL' not in sys.modules; "
        "print(mlatlas.extrude.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "mlatlas.labs.extrude"
    assert mlatlas.extrude is extrude


# --- the command line --------------------------------------------------------------


def _mlatlas(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlatlas", "extrude", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=run_env(),
        timeout=300,
    )


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares a size and holds (almost) no pixels: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory, picture: Path) -> dict[str, tuple[list, str]]:
    d = tmp_path_factory.mktemp("bad")
    (d / "notes.png").write_text("not an image\n")
    (d / "empty.png").write_bytes(b"")
    good = picture.read_bytes()
    (d / "truncated.png").write_bytes(good[: len(good) // 2])
    (d / "bomb.png").write_bytes(_png_header(20000, 20000))
    (d / "huge.png").write_bytes(_png_header(9000, 9000))
    Image.new("F", (4, 4)).save(d / "float.tiff")
    Image.new("L", (4097, 4097)).save(d / "large.png")
    out = d / "out"
    out.mkdir()
    cases = {
        "missing file": ([d / "nope.png"], "no such file"),
        "not an image": ([d / "notes.png"], "not an image"),
        "empty file": ([d / "empty.png"], "empty"),
        "truncated": ([d / "truncated.png"], "truncated or corrupt"),
        "decompression bomb": ([d / "bomb.png"], "refusing to decode"),
        "over the pixel limit": ([d / "huge.png"], f"{MAX_IMAGE_PIXELS:,}"),
        "unsupported mode": ([d / "float.tiff"], "pixel mode 'F'"),
        "too large to mesh": ([d / "large.png"], f"at most {MAX_MESH_PIXELS:,}: pass --max-size"),
        "negative height": ([picture, "--height", "-1"], "must be positive"),
        "bad base": ([picture, "--base", "thin"], "not a number"),
        "threshold out of range": ([picture, "--black-threshold", "1"], "[0, 1)"),
        "two simplifications": ([picture, "--max-error", "0.1", "--decimate", "100"], "not allowed with"),
        "unknown format": ([picture, "-o", out / "relief.ply"], "must end in .glb, .obj or .stl"),
        "colours in STL": ([picture, "--colors", "-o", out / "relief.stl"], "STL stores no colours"),
        "missing folder": ([picture, "-o", out / "no" / "relief.glb"], "does not exist"),
        "output is a folder": ([picture, "-o", d / "x.glb"], "it is a folder"),
        "depth model folder missing": ([picture, "--depth-model", d / "no-model"], "does not exist"),
        "depth model is a file": ([picture, "--depth-model", picture], "is a file: give the folder"),
        "pixel size too large for float32": ([picture, "--pixel-size", "1e300"], "model units"),
        "pixel size too small for float32": ([picture, "--pixel-size", "1e-300"], "model units"),
        "max error too large": ([picture, "--max-error", "1e300"], "model units"),
    }
    (d / "x.glb").mkdir()
    if Path("/sys").is_dir():
        cases["unwritable"] = ([picture, "-o", "/sys/relief.glb"], "cannot write /sys/relief.glb")
    return {
        name: (args if any(str(a) == "-o" for a in args) else [*args, "-o", out / "relief.glb"], match)
        for name, (args, match) in cases.items()
    }


def test_every_bad_input_is_one_line_and_exit_2(bad_inputs, tmp_path_factory) -> None:
    """One line on stderr, status 2, no output file and no temporary file."""
    names = list(bad_inputs)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(names, pool.map(lambda n: _mlatlas(*bad_inputs[n][0]), names), strict=True))
    problems = []
    for name, result in results.items():
        args, match = bad_inputs[name]
        target = Path(str(args[args.index("-o") + 1]))
        lines = result.stderr.splitlines()
        if (
            result.returncode != 2
            or len(lines) != 1
            or not lines[0].startswith("mlatlas: error: ")
            or match not in lines[0]
        ):
            problems.append(f"{name}: exit {result.returncode}, stderr {result.stderr!r}")
        if target.is_file() or (
            target.parent.is_dir()
            and str(target.parent) != "/sys"
            and any(p.name.endswith(".tmp") for p in target.parent.iterdir())
        ):
            problems.append(f"{name}: left a file behind in {target.parent}")
        if result.stdout:
            problems.append(f"{name}: printed {result.stdout!r}")
    assert problems == []


def test_the_command_writes_and_reports_json(picture: Path, tmp_path: Path) -> None:
    out = tmp_path / "relief.glb"
    result = _mlatlas(picture, "-o", out, "--json", "--colors", "--max-error", "0.05", "--pixel-size", "0.5")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress bar when stderr is not a terminal
    report = json.loads(result.stdout)
    mesh = trimesh.load(out, force="mesh", process=False)
    assert report["faces"] == len(mesh.faces) and report["vertices"] == len(mesh.vertices)
    np.testing.assert_allclose(report["bounds"], mesh.bounds, rtol=1e-6)
    assert report["bounds"][1][:2] == pytest.approx([32 * 0.5, 24 * 0.5])
    assert report["volume"] == pytest.approx(mesh.volume, rel=1e-6)
    assert report["decimated"] and report["max_error"] <= 0.05
    assert set(report["timings_s"]) >= {"read", "height_field", "mesh", "write"}
    assert report["bytes"] == out.stat().st_size


@pytest.fixture(scope="module")
def tiny_depth_model(tmp_path_factory) -> Path:
    """A DPT depth estimator with a few thousand random weights, saved locally."""
    import torch
    from transformers import DPTConfig, DPTForDepthEstimation, DPTImageProcessor

    torch.manual_seed(0)
    config = DPTConfig(
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=37,
        image_size=32,
        patch_size=16,
        backbone_out_indices=[0, 1, 2, 3],
        neck_hidden_sizes=[8, 16, 32, 32],
        fusion_hidden_size=16,
        reassemble_factors=[4, 2, 1, 0.5],
        head_in_index=-1,
    )
    path = tmp_path_factory.mktemp("depth") / "tiny-dpt"
    DPTForDepthEstimation(config).save_pretrained(path)
    DPTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(path)
    return path


def test_height_from_a_local_depth_model(tiny_depth_model: Path, picture: Path, tmp_path: Path) -> None:
    mesh = extrude(picture, depth_model=tiny_depth_model, height=3.0, base=1.0)
    assert_clean(mesh)
    assert 1.0 < mesh.bounds[1, 2] <= 4.0 + 1e-5  # depth is scaled to [0, 1] over the image
    out = tmp_path / "depth.glb"
    result = _mlatlas(picture, "-o", out, "--depth-model", tiny_depth_model, "--json")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert_clean(trimesh.load(out, force="mesh", process=False))
    (tmp_path / "bert").mkdir()
    from transformers import BertConfig

    BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8).save_pretrained(
        tmp_path / "bert"
    )
    with pytest.raises(MlatlasError, match="not a depth-estimation model"):
        extrude(picture, depth_model=tmp_path / "bert")


# --- options out of range (issue 17) ---


@pytest.mark.parametrize(
    "option",
    [{"pixel_size": 1e300}, {"pixel_size": 1e-300}, {"height": 1e300}, {"base": 1e-300}, {"max_error": 1e300}],
    ids=lambda o: next(f"{k}={v:g}" for k, v in o.items()),
)
def test_lengths_that_float32_cannot_hold_are_refused(option) -> None:
    image = np.full((8, 8), 200, np.uint8)
    with pytest.raises(MlatlasError, match=r"must be from .* model units"):
        extrude(image, **option)


def test_a_blur_wider_than_the_image_gives_the_untruncated_gaussian() -> None:
    """The kernel is cut at the image's size; scipy's full Gaussian (same 3-sigma cut, zero padding) agrees."""
    from scipy.ndimage import gaussian_filter

    from mlatlas.labs.extrude.image import _smooth

    rng = np.random.default_rng(0)
    value = rng.random((24, 32)).astype(np.float32)
    on = rng.random((24, 32)) > 0.2
    sigma = 100.0  # a 601-pixel kernel on a 32-pixel image
    blur = {"sigma": sigma, "mode": "constant", "cval": 0.0, "truncate": 3.0}
    expected = gaussian_filter(value * on, **blur) / gaussian_filter(on.astype(np.float64), **blur)
    assert np.allclose(_smooth(value, on, sigma)[on], expected[on], atol=1e-5)
    flat = extrude(np.full((64, 64), 120, np.uint8), smooth=1e6)  # ran for minutes when the kernel was 6e6 wide
    assert flat.is_watertight


def test_sigterm_while_writing_leaves_nothing_half_written(tmp_path: Path, monkeypatch, capsys) -> None:
    """SIGTERM (what `timeout` and CI send) is handled like Ctrl+C: one line, exit 143, no hidden .tmp file."""
    import os
    import signal
    import time

    from mlatlas.cli import main
    from mlatlas.labs.extrude import export

    def write_then_get_killed(mesh, handle) -> None:
        handle.write(b"glTF half of a file")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)  # the signal arrives here

    Image.fromarray(np.full((16, 16), 180, np.uint8)).save(tmp_path / "in.png")
    monkeypatch.setattr(export, "write_glb", write_then_get_killed)
    status = main(["extrude", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.glb")])
    assert status == 143
    assert capsys.readouterr().err == "mlatlas: terminated\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]
    assert signal.getsignal(signal.SIGTERM) is not None  # main() put back the handler it found
