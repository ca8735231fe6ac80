"""From an image file to a height field and a mask of the pixels that are extruded.

**Brightness.** Height comes from luma, the perceptual brightness of the gamma-encoded
(sRGB) values with the Rec. ITU-R BT.709 luminance coefficients (BT.709-6, item 3.2;
sRGB, IEC 61966-2-1, uses the same primaries and so the same weights):

$$ Y' = 0.2126\\,R' + 0.7152\\,G' + 0.0722\\,B' $$

Grey images use their value directly, 16-bit grey images (PNG ``I;16``) keep all
65,536 levels, so a smooth 16-bit height map does not come out in 256 steps.

**Transparency.** A pixel is *off* (not extruded) when its luma is at or below the
black threshold or its alpha is 0; partial alpha counts as opaque. ``invert`` flips
heights (dark stands tall) but not the mask: black stays transparent.

**Limits.** Images are refused *before* decoding when they have more than
:data:`MAX_IMAGE_PIXELS` pixels (a decompression bomb: a few kilobytes of PNG can
declare gigapixels), and a mesh is built from at most :data:`MAX_MESH_PIXELS` pixels;
``max_size`` resamples larger images down first.

Example:
    >>> import numpy as np
    >>> rgb = np.array([[[255, 255, 255], [255, 0, 0]], [[0, 0, 0], [0, 0, 255]]], np.uint8)
    >>> picture = from_array(rgb)
    >>> picture.luma.astype(float).round(4).tolist()
    [[1.0, 0.2126], [0.0, 0.0722]]
    >>> field = height_field(picture)
    >>> field.on.tolist()                      # black is transparent
    [[True, True], [False, True]]
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlatlas.errors import MlatlasError

REC709 = (0.2126, 0.7152, 0.0722)
"""Luma weights of R', G', B' (Rec. ITU-R BT.709-6, item 3.2)."""

MAX_IMAGE_PIXELS = 8192 * 8192
"""Largest image decoded at all (67,108,864 pixels); checked from the header."""

MAX_MESH_PIXELS = 4096 * 4096
"""Largest pixel grid a mesh is built from (16,777,216 pixels)."""

_EIGHT_BIT_MODES = {"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr"}
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}


@dataclass
class Picture:
    """A decoded image.

    Attributes:
        luma: ``(H, W)`` float32 brightness in ``[0, 1]``.
        opaque: ``(H, W)`` bool, False where alpha is 0.
        rgb: ``(H, W, 3)`` uint8 colours.
        name: Where it came from, for messages.
    """

    luma: np.ndarray
    opaque: np.ndarray
    rgb: np.ndarray
    name: str = "image"

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return self.luma.shape[1], self.luma.shape[0]


@dataclass
class HeightField:
    """What the mesh is built from.

    Attributes:
        value: ``(H, W)`` float32 in ``[0, 1]``, after inversion, gamma,
            resampling and smoothing; the relief is ``height * value``.
        on: ``(H, W)`` bool, the pixels that are extruded.
        rgb: ``(H, W, 3)`` uint8 colours at the same resolution.
    """

    value: np.ndarray
    on: np.ndarray
    rgb: np.ndarray


def read_image(path: str | Path) -> Picture:
    """Decode an image file, refusing what cannot or should not be decoded.

    Args:
        path: An image file Pillow can read (PNG, JPEG, GIF, BMP, TIFF, WebP, ...).

    Returns:
        The decoded picture (the first frame of an animation, EXIF rotation applied).

    Raises:
        MlatlasError: Missing, empty, not an image, truncated, zero-sized, over
            :data:`MAX_IMAGE_PIXELS`, or in a pixel mode without a brightness.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise MlatlasError(f"{path}: no such file")
    if not path.is_file():
        raise MlatlasError(f"{path} is not a file")
    if path.stat().st_size == 0:
        raise MlatlasError(f"{path} is empty (0 bytes), not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MlatlasError(
            f"{path} declares more pixels than the limit of {MAX_IMAGE_PIXELS:,}; refusing to decode it"
        ) from None
    except UnidentifiedImageError:
        raise MlatlasError(f"{path} is not an image that Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise MlatlasError(f"cannot read {path}: {_one_line(error)}") from None
    with image:
        width, height = image.size
        if width <= 0 or height <= 0:
            raise MlatlasError(f"{path} has no pixels ({width}x{height})")
        if width * height > MAX_IMAGE_PIXELS:
            raise MlatlasError(
                f"{path} is {width}x{height} = {width * height:,} pixels, "
                f"over the limit of {MAX_IMAGE_PIXELS:,}; refusing to decode it"
            )
        if image.mode not in _EIGHT_BIT_MODES | _SIXTEEN_BIT_MODES:
            raise MlatlasError(
                f"{path} has pixel mode {image.mode!r}, which has no brightness; "
                "use grey, RGB(A), palette or 16-bit grey"
            )
        try:
            image.seek(0)
            image.load()
            image = ImageOps.exif_transpose(image)
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise MlatlasError(f"{path} is truncated or corrupt ({_one_line(error)})") from None
        return _from_pil(image, str(path))


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _from_pil(image, name: str) -> Picture:
    if image.mode in _SIXTEEN_BIT_MODES:
        grey = np.clip(np.asarray(image, dtype=np.float32), 0, 65535) / np.float32(65535)
        return _grey(grey, name)
    if image.mode in ("L", "1"):
        return _grey(np.asarray(image.convert("L"), dtype=np.float32) / np.float32(255), name)
    rgba = np.asarray(image.convert("RGBA"))
    return from_array(rgba, name=name)


def _grey(grey: np.ndarray, name: str) -> Picture:
    rgb = np.repeat(np.rint(grey * 255).astype(np.uint8)[..., None], 3, axis=2)
    return Picture(grey, np.ones(grey.shape, bool), rgb, name)


def from_array(pixels: np.ndarray, name: str = "array") -> Picture:
    """A picture from a numpy array.

    Args:
        pixels: ``(H, W)`` grey or ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA, as
            uint8 (0-255), uint16 (0-65535), bool, or float in ``[0, 1]``.
        name: A name for messages.

    Returns:
        The picture; alpha 0 marks transparent pixels.
    """
    a = np.asarray(pixels)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or a.shape[0] == 0 or a.shape[1] == 0:
        raise MlatlasError(f"{name}: expected an (H, W), (H, W, 3) or (H, W, 4) array with pixels, got shape {a.shape}")
    if a.shape[0] * a.shape[1] > MAX_IMAGE_PIXELS:
        raise MlatlasError(f"{name} has {a.shape[0] * a.shape[1]:,} pixels, over the limit of {MAX_IMAGE_PIXELS:,}")
    if a.dtype == bool:
        a, scale = a.astype(np.float32), 1.0
    elif a.dtype == np.uint8:
        scale = 255.0
    elif a.dtype == np.uint16:
        scale = 65535.0
    elif np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
            raise MlatlasError(f"{name}: float pixels must be finite and within [0, 1]")
        scale = 1.0
    else:
        raise MlatlasError(f"{name}: unsupported pixel type {a.dtype}")
    if a.ndim == 2:
        return _grey(a.astype(np.float32) / np.float32(scale), name)
    # Channel by channel, so a large 8-bit image never becomes one float array.
    luma = np.zeros(a.shape[:2], np.float32)
    for channel, weight in enumerate(REC709):
        luma += a[..., channel].astype(np.float32) * np.float32(weight / scale)
    np.clip(luma, 0, 1, out=luma)
    opaque = a[..., 3] > 0 if a.shape[2] == 4 else np.ones(luma.shape, bool)
    if a.dtype == np.uint8:
        rgb = a[..., :3]
    else:
        rgb = np.rint(a[..., :3].astype(np.float32) * np.float32(255 / scale)).astype(np.uint8)
    return Picture(luma, opaque, np.ascontiguousarray(rgb), name)


def height_field(
    picture: Picture,
    *,
    invert: bool = False,
    gamma: float = 1.0,
    black_threshold: float | None = 0.0,
    max_size: int | None = None,
    smooth: float = 0.0,
    depth: np.ndarray | None = None,
) -> HeightField:
    """Turn a picture into heights in ``[0, 1]`` and an on/off mask.

    Steps, in order: mask (luma at or below ``black_threshold``, or alpha 0, is
    off); value (luma, or ``depth`` when given); ``invert``; ``gamma``; resample so
    the longer side is at most ``max_size`` (box filter over the on pixels, a pixel
    stays on when at least half of what it averages was on); Gaussian ``smooth``
    over the on pixels only (a normalised convolution, so black never bleeds in).

    Args:
        picture: The decoded image.
        invert: Dark stands tall (the mask is unchanged).
        gamma: Exponent applied to the value (below 1 lifts the darks).
        black_threshold: Luma in ``[0, 1)`` at or below which a pixel is off;
            ``None`` keeps every opaque pixel.
        max_size: Longest side after resampling, in pixels.
        smooth: Gaussian standard deviation in pixels (0: none).
        depth: Optional ``(H, W)`` values in ``[0, 1]`` replacing luma as the value.

    Returns:
        The height field.
    """
    on = picture.opaque.copy()
    if black_threshold is not None:
        on &= picture.luma > np.float32(black_threshold)
    value = picture.luma if depth is None else depth.astype(np.float32)
    if invert:
        value = 1 - value
    if gamma != 1:
        value = np.power(value, np.float32(gamma), dtype=np.float32)
    rgb = picture.rgb
    H, W = on.shape
    if max_size is not None and max(H, W) > max_size:
        value, on, rgb = _resample(value, on, rgb, max_size)
    if smooth > 0:
        value = _smooth(value, on, smooth)
    return HeightField(np.ascontiguousarray(value, np.float32), on, rgb)


def _resample(value: np.ndarray, on: np.ndarray, rgb: np.ndarray, max_size: int):
    """Box-filter down so the longer side is ``max_size`` (torch adaptive average pooling)."""
    import torch
    import torch.nn.functional as F

    H, W = on.shape
    f = max_size / max(H, W)
    size = (max(1, round(H * f)), max(1, round(W * f)))
    m = torch.from_numpy(on.astype(np.float32))
    channels = torch.stack([m, torch.from_numpy(np.ascontiguousarray(value, np.float32)) * m])
    rgb_t = torch.from_numpy(rgb).permute(2, 0, 1).to(torch.float32)
    channels = torch.cat([channels, rgb_t])
    pooled = F.interpolate(channels[None], size=size, mode="area")[0]
    frac = pooled[0]
    on2 = (frac >= 0.5).numpy()
    value2 = (pooled[1] / frac.clamp_min(1e-12)).clamp(0, 1).numpy()
    rgb2 = pooled[2:].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()
    return value2, on2, np.ascontiguousarray(rgb2)


def _smooth(value: np.ndarray, on: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``value`` over the on pixels only (torch separable convolution).

    The kernel is cut at three standard deviations, and never wider than the image:
    past the image's far edge it would only meet the zero padding, which adds nothing
    to the blurred values or to their weights, and the two are divided. So a blur far
    wider than the picture costs what one as wide as the picture costs, and gives the
    same heights.
    """
    import torch
    import torch.nn.functional as F

    radius = max(1, min(math.ceil(3 * sigma), max(on.shape) - 1))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    m = torch.from_numpy(on.astype(np.float32))[None, None]
    v = torch.from_numpy(np.ascontiguousarray(value, np.float32))[None, None] * m
    both = torch.cat([v, m])  # blur numerator and weights together
    both = F.conv2d(F.pad(both, (radius, radius, 0, 0)), kernel.view(1, 1, 1, -1))
    both = F.conv2d(F.pad(both, (0, 0, radius, radius)), kernel.view(1, 1, -1, 1))
    out = (both[0, 0] / both[1, 0].clamp_min(1e-12)).clamp(0, 1).numpy()
    return np.where(on, out, value).astype(np.float32)


def depth_map(model_dir: str | Path, picture: Picture) -> np.ndarray:
    """Relative depth of a picture from a local ``transformers`` depth-estimation model.

    The model's output (for DPT and Depth Anything, a relative *inverse* depth:
    larger is nearer) is resized to the picture and scaled to ``[0, 1]`` over the
    whole image, so nearer stands taller. Nothing is downloaded.

    Args:
        model_dir: A folder written by ``save_pretrained`` holding a model of a
            depth-estimation architecture and its image processor.
        picture: The image to estimate.

    Returns:
        ``(H, W)`` float32 in ``[0, 1]`` (all ones when the prediction is constant).

    Raises:
        MlatlasError: The folder is missing, has no config, or holds another kind of model.
    """
    model_dir = Path(model_dir)
    if model_dir.exists() and not model_dir.is_dir():
        raise MlatlasError(f"depth model {model_dir} is a file: give the folder save_pretrained wrote")
    if not model_dir.is_dir():
        raise MlatlasError(f"depth model folder {model_dir} does not exist")
    if not (model_dir / "config.json").is_file():
        raise MlatlasError(f"{model_dir} has no config.json: not a saved transformers model")
    try:
        import torch
        from transformers import AutoConfig, AutoImageProcessor, AutoModelForDepthEstimation
        from transformers.models.auto.modeling_auto import MODEL_FOR_DEPTH_ESTIMATION_MAPPING_NAMES
    except ImportError as error:  # pragma: no cover - transformers is in the extras
        raise MlatlasError(f"--depth-model needs transformers: {error}") from None
    try:
        config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
    except (OSError, ValueError, KeyError) as error:
        raise MlatlasError(f"{model_dir}: cannot read its config ({_one_line(error)})") from None
    if config.model_type not in MODEL_FOR_DEPTH_ESTIMATION_MAPPING_NAMES:
        raise MlatlasError(f"{model_dir} holds a {config.model_type!r} model, not a depth-estimation model")
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # no loading bars or backend notes on stderr
    hf_logging.disable_progress_bar()
    try:
        processor = AutoImageProcessor.from_pretrained(model_dir, local_files_only=True)
        model = AutoModelForDepthEstimation.from_pretrained(model_dir, local_files_only=True).eval()
    except (OSError, ValueError) as error:
        raise MlatlasError(f"{model_dir}: cannot load the model ({_one_line(error)})") from None
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    from PIL import Image

    image = Image.fromarray(picture.rgb)
    with torch.inference_mode():
        inputs = processor(images=image, return_tensors="pt")
        predicted = model(**inputs).predicted_depth  # (1, h, w)
        depth = torch.nn.functional.interpolate(
            predicted[:, None].float(), size=picture.luma.shape, mode="bilinear", align_corners=False
        )[0, 0]
    lo, hi = float(depth.min()), float(depth.max())
    if not math.isfinite(lo) or not math.isfinite(hi):
        raise MlatlasError(f"{model_dir}: the model predicted non-finite depth")
    if hi - lo <= 0:
        return np.ones(picture.luma.shape, np.float32)
    return ((depth - lo) / (hi - lo)).numpy().astype(np.float32)
