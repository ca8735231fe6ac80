"""``mlatlas extrude``: an image to a 3D-printable relief (GLB, OBJ or STL).

The lab (:mod:`mlatlas.labs.extrude`) is imported when the command runs, not when
``mlatlas --help`` lists the commands, so the listing stays fast and works without
the lab's extra dependencies.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from mlatlas.cli.arguments import count, non_negative_number, number, positive_number
from mlatlas.cli.output import StepBars, add_json_flag, print_json, print_table
from mlatlas.errors import MlatlasError

PROGRESS_MIN_PIXELS = 1 << 20
"""Images from this many pixels up show a progress bar (on a terminal's stderr)."""

STEPS = {step: step for step in ("reading", "height field", "mesh", "decimating", "writing")}
"""The lab's progress steps, in order; one bar goes through them."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``extrude`` to the command line."""
    parser = subparsers.add_parser(
        "extrude",
        help="image to 3D relief: brighter stands taller, black is transparent",
        description=(
            "Turn an image into a closed (watertight) relief mesh: height from brightness "
            "(Rec. 709 luma), black pixels left out, welded onto a base plate. "
            "Writes .glb, .obj or .stl, atomically."
        ),
    )
    parser.add_argument(
        "image", type=Path, help="input image (PNG, JPEG, GIF, BMP, TIFF, WebP; 16-bit grey PNG keeps 65,536 levels)"
    )
    parser.add_argument(
        "-o", "--output", type=Path, required=True, metavar="OUT", help="output file: .glb, .obj or .stl"
    )
    parser.add_argument(
        "--height",
        type=positive_number,
        default=5.0,
        help="relief of a white pixel above the base, model units (default: 5)",
    )
    parser.add_argument(
        "--base",
        type=_base,
        default=1.0,
        metavar="THICKNESS|none",
        help="plate under the whole image (default: 1); 'none' cuts black regions out as holes",
    )
    parser.add_argument(
        "--pixel-size", type=positive_number, default=0.1, help="side of one pixel, model units (default: 0.1)"
    )
    parser.add_argument("--invert", action="store_true", help="dark stands tall (black stays transparent)")
    parser.add_argument("--gamma", type=positive_number, default=1.0, help="height = brightness ** gamma (default: 1)")
    parser.add_argument(
        "--smooth",
        type=non_negative_number,
        default=0.0,
        metavar="SIGMA",
        help="Gaussian blur of the heights over the extruded pixels, in pixels (default: 0)",
    )
    parser.add_argument(
        "--max-size",
        type=count,
        default=None,
        metavar="PIXELS",
        help="resample so the longer side has at most this many pixels",
    )
    parser.add_argument(
        "--black-threshold",
        type=_threshold,
        default=0.0,
        metavar="LUMA|none",
        help="luma in [0, 1) at or below which a pixel is not extruded (default: 0); "
        "'none' extrudes every opaque pixel",
    )
    parser.add_argument("--colors", action="store_true", help="vertex colours from the image (.glb, .obj)")
    simplify = parser.add_mutually_exclusive_group()
    simplify.add_argument(
        "--max-error",
        type=non_negative_number,
        default=None,
        metavar="E",
        help="simplify the top within this height error, model units (0: merge flat areas only)",
    )
    simplify.add_argument(
        "--decimate",
        type=count,
        default=None,
        metavar="TARGET_FACES",
        help="simplify to at most this many faces, with the smallest error that reaches it",
    )
    parser.add_argument(
        "--depth-model",
        type=Path,
        default=None,
        metavar="PATH",
        help="folder of a local transformers depth-estimation model: height from its depth",
    )
    add_json_flag(parser, "instead of a table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Build the relief, write it, print what was written."""
    try:
        from mlatlas.labs.extrude import relief
        from mlatlas.labs.extrude.export import output_format, write
    except ImportError as error:
        raise MlatlasError(
            f"extrude needs its extra dependencies ({error.name} is missing): pip install 'mlatlas[extrude]'"
        ) from None
    fmt = output_format(args.output, colors=args.colors)  # fail before any work
    with StepBars(STEPS, together=True, show=_large(args.image)) as progress:
        result = relief(
            args.image,
            height=args.height,
            base=args.base,
            pixel_size=args.pixel_size,
            invert=args.invert,
            gamma=args.gamma,
            smooth=args.smooth,
            max_size=args.max_size,
            black_threshold=args.black_threshold,
            colors=args.colors,
            max_error=args.max_error,
            decimate=args.decimate,
            depth_model=args.depth_model,
            progress=progress,
        )
        progress("writing", 0.0)
        start = time.perf_counter()
        write(result.mesh, args.output)
        result.timings["write"] = time.perf_counter() - start
    summary = {
        "input": str(args.image),
        "output": str(args.output),
        "format": fmt,
        "bytes": args.output.stat().st_size,
        **result.summary(),
    }
    if args.json:
        print_json(summary)
        return 0
    (x0, y0, z0), (x1, y1, z1) = summary["bounds"]
    rows = [
        {"what": "image", "value": f"{summary['image_size'][0]} x {summary['image_size'][1]} px"},
        {
            "what": "mesh grid",
            "value": f"{summary['grid_size'][0]} x {summary['grid_size'][1]} px, {summary['on_pixels']:,} extruded",
        },
        {"what": "vertices", "value": f"{summary['vertices']:,}"},
        {"what": "faces", "value": f"{summary['faces']:,}"},
        {"what": "size (x, y, z)", "value": f"{x1 - x0:.4g} x {y1 - y0:.4g} x {z1 - z0:.4g}"},
        {"what": "volume", "value": f"{summary['volume']:.6g}"},
        {
            "what": "max height error",
            "value": f"{summary['max_error']:.4g}" if summary["decimated"] else "0 (full grid)",
        },
        {"what": "file", "value": f"{summary['bytes']:,} bytes ({fmt})"},
        {"what": "time", "value": f"{sum(result.timings.values()):.2f} s"},
    ]
    print_table(f"wrote {args.output}", rows, {"what": "property", "value": "value"})
    return 0


def _base(text: str) -> float | None:
    return None if text.lower() == "none" else positive_number(text)


def _threshold(text: str) -> float | None:
    if text.lower() == "none":
        return None
    value = number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _large(image: Path) -> bool:
    """Whether ``image`` is large enough for a progress bar (reads the header only)."""
    try:
        import warnings

        from PIL import Image

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(image) as im:
                return im.size[0] * im.size[1] >= PROGRESS_MIN_PIXELS
    except Exception:  # the lab reports unreadable images properly
        return False
