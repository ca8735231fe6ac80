"""The kernels a benchmark times, and the work each one does.

Three kernels, each counted the way its field counts it:

- **matmul** ``C = A @ B`` with ``A`` of shape ``m x k`` and ``B`` of shape ``k x n``:
  ``2 m n k`` floating-point operations (a multiply and an add per term), and at
  least ``(m k + k n + m n)`` elements moved (each input read once, the output
  written once).
- **copy** ``c = a`` (STREAM's Copy): no arithmetic, ``2 n`` elements moved.
- **triad** ``a = b + s c`` (STREAM's Triad): ``2 n`` operations, ``3 n`` elements
  moved.

STREAM counts bytes the same way (McCalpin, ``stream.c``): what the kernel must read
plus what it must write, not the extra traffic a cache may add.

Each builder allocates the inputs (random, never zeros: a zero operand can make
hardware run faster than real data would) and the outputs on the device, and
returns a :class:`Kernel` whose :attr:`~Kernel.call` writes into those outputs with
``out=`` or in place, so calling it allocates nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch

from mlatlas.errors import MlatlasError
from mlatlas.labs.bench.devices import DTYPES
from mlatlas.labs.bench.timing import last_level_cache_bytes

TRIAD_SCALAR = 3.0
"""The ``s`` of ``a = b + s c``, as in STREAM."""


def matmul_flop(m: int, n: int, k: int) -> int:
    """Floating-point operations of an ``m x k`` by ``k x n`` product: ``2 m n k``.

    Example:
        >>> matmul_flop(1024, 1024, 1024)
        2147483648
    """
    return 2 * m * n * k


def matmul_bytes(m: int, n: int, k: int, itemsize: int) -> int:
    """Fewest bytes an ``m x k`` by ``k x n`` product moves: both inputs and the output once."""
    return (m * k + k * n + m * n) * itemsize


def copy_bytes(n: int, itemsize: int) -> int:
    """Bytes STREAM's Copy moves: ``n`` elements read and ``n`` written."""
    return 2 * n * itemsize


def triad_flop(n: int) -> int:
    """Operations of STREAM's Triad: a multiply and an add per element."""
    return 2 * n


def triad_bytes(n: int, itemsize: int) -> int:
    """Bytes STREAM's Triad moves: two arrays read, one written."""
    return 3 * n * itemsize


@dataclass(frozen=True)
class Kernel:
    """A kernel ready to time: its operands are allocated and filled.

    Example:
        >>> k = matmul(64, "fp32", "cpu")
        >>> k.flop, k.bytes, round(k.intensity, 2)
        (524288, 49152, 10.67)
    """

    name: str
    """``matmul``, ``copy`` or ``triad``."""
    dtype: str
    """Number format, a key of :data:`~mlatlas.labs.bench.devices.DTYPES`."""
    device: str
    """Where the operands live."""
    size: int
    """Matrix side for matmul, elements per array for copy and triad."""
    shape: tuple[int, ...]
    """``(m, n, k)`` for matmul, ``(n,)`` for copy and triad."""
    flop: int
    """Floating-point operations of one call."""
    bytes: int
    """Fewest bytes one call moves to and from memory."""
    call: Callable[[], object] = field(repr=False)
    """Runs the kernel once into its preallocated output."""
    tensors: dict[str, torch.Tensor] = field(repr=False, compare=False)
    """The operands by name (``a``, ``b``, ``c``), to check a result."""

    @property
    def intensity(self) -> float:
        """Arithmetic intensity: operations per byte moved."""
        return self.flop / self.bytes


def _random(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device, seed: int) -> torch.Tensor:
    """Standard-normal values drawn on the device itself where it has a generator."""
    try:
        generator = torch.Generator(device=device).manual_seed(seed)
        return torch.randn(shape, dtype=dtype, device=device, generator=generator)
    except RuntimeError:  # a device without its own generator: draw on the CPU
        generator = torch.Generator().manual_seed(seed)
        return torch.randn(shape, dtype=dtype, generator=generator).to(device)


def matmul(size: int, dtype: str, device: str) -> Kernel:
    """A square ``size x size x size`` matrix product in ``dtype`` on ``device``.

    ``tf32`` operands are float32; the product runs under :func:`matmul_precision`
    with TF32 enabled.
    """
    dev, torch_dtype = torch.device(device), DTYPES[dtype]
    a = _random((size, size), torch_dtype, dev, seed=1)
    b = _random((size, size), torch_dtype, dev, seed=2)
    c = torch.empty((size, size), dtype=torch_dtype, device=dev)
    itemsize = c.element_size()
    return Kernel(
        name="matmul",
        dtype=dtype,
        device=device,
        size=size,
        shape=(size, size, size),
        flop=matmul_flop(size, size, size),
        bytes=matmul_bytes(size, size, size, itemsize),
        call=lambda: torch.matmul(a, b, out=c),
        tensors={"a": a, "b": b, "c": c},
    )


def stream_elements(device: str, itemsize: int = 4) -> int:
    """Elements per array for copy and triad: each array at least four times the
    last-level cache, STREAM's rule, so no array can be served from the cache.

    Example:
        >>> stream_elements("cpu") * 4 >= 4 * last_level_cache_bytes(torch.device("cpu"))
        True
    """
    return max(4 * last_level_cache_bytes(torch.device(device)) // itemsize, 2**24)


def copy(n: int, device: str, dtype: str = "fp32") -> Kernel:
    """STREAM's Copy, ``c = a``, over ``n`` elements."""
    dev, torch_dtype = torch.device(device), DTYPES[dtype]
    a = _random((n,), torch_dtype, dev, seed=3)
    c = torch.empty(n, dtype=torch_dtype, device=dev)
    return Kernel(
        name="copy",
        dtype=dtype,
        device=device,
        size=n,
        shape=(n,),
        flop=0,
        bytes=copy_bytes(n, c.element_size()),
        call=lambda: c.copy_(a),
        tensors={"a": a, "c": c},
    )


def triad(n: int, device: str, dtype: str = "fp32") -> Kernel:
    """STREAM's Triad, ``a = b + s c`` with ``s`` = :data:`TRIAD_SCALAR`, over ``n`` elements.

    ``torch.add(b, c, alpha=s, out=a)`` is one fused pass: it reads ``b`` and ``c``
    once and writes ``a`` once, with no temporary for ``s c``.
    """
    dev, torch_dtype = torch.device(device), DTYPES[dtype]
    b = _random((n,), torch_dtype, dev, seed=4)
    c = _random((n,), torch_dtype, dev, seed=5)
    a = torch.empty(n, dtype=torch_dtype, device=dev)
    return Kernel(
        name="triad",
        dtype=dtype,
        device=device,
        size=n,
        shape=(n,),
        flop=triad_flop(n),
        bytes=triad_bytes(n, a.element_size()),
        call=lambda: torch.add(b, c, alpha=TRIAD_SCALAR, out=a),
        tensors={"a": a, "b": b, "c": c},
    )


@contextlib.contextmanager
def matmul_precision(dtype: str) -> Iterator[None]:
    """Run float32 matrix products as TF32 for ``tf32``, in full float32 otherwise.

    PyTorch computes float32 products in full precision by default, but a caller may
    have called ``torch.set_float32_matmul_precision("high")`` (TF32 on NVIDIA GPUs)
    or ``"medium"`` (bf16 inside oneDNN on some CPUs); an ``fp32`` row must not
    silently measure either. ``torch.set_float32_matmul_precision`` is the one switch
    that sets the CUDA and the oneDNN matmul precision together and consistently; it
    is set for the duration and the previous value restored.

    Raises:
        MlatlasError: The caller set the legacy and the per-backend TF32 switches
            to values that contradict each other (PyTorch itself refuses to read
            the precision then).
    """
    try:
        previous = torch.get_float32_matmul_precision()
    except RuntimeError:
        raise MlatlasError(
            "the float32 matmul precision was set both with torch.set_float32_matmul_precision and with "
            "torch.backends.*.fp32_precision, to values that disagree; set it one way before benchmarking"
        ) from None
    torch.set_float32_matmul_precision("high" if dtype == "tf32" else "highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(previous)
