"""Compiling the kernels' sources and loading them into this process, once per machine.

Three builds, one per way of calling native code from Python:

- :func:`load_cpu_library` compiles ``rmsnorm_cpu.cpp`` with
  :func:`torch.utils.cpp_extension.load`: it writes a ``build.ninja`` file, runs
  ``ninja`` (which runs the C++ compiler with PyTorch's include paths and flags) and
  loads the shared library with :func:`torch.ops.load_library`. Loading runs the
  library's ``TORCH_LIBRARY`` block, which registers ``mlatlas::rms_norm`` with the
  dispatcher; nothing is imported as a Python module.
- :func:`load_cuda_library` does the same for ``rmsnorm_cuda.cu`` and its binding
  ``rmsnorm_cuda_ops.cpp``, where PyTorch has CUDA and a CUDA toolkit is installed.
- :func:`load_c_library` compiles the plain C file ``rmsnorm.c`` with the system C
  compiler into a shared library and opens it with :mod:`ctypes`; no PyTorch header
  is involved.

Every build goes to a folder under PyTorch's extension directory
(``$TORCH_EXTENSIONS_DIR``, by default ``~/.cache/torch_extensions/py<ver>_<cpu|cuXY>``)
whose name ends in a hash of the sources, the flags and the PyTorch version. A torch
extension's folder gets a ``build.finished`` file once its build has succeeded; a
later process (the test suite after the site build, a second checkout of the same
code) finds it and only opens the library: no compiler, no ninja, no lock. A changed
source gets a new folder. While it builds, PyTorch's ``load`` holds a lock file in the
folder, so two processes never compile into it at once; the C library is written to a
temporary file and renamed into place.

A missing tool is reported before anything is built, as one :class:`MlatlasError` line
naming it (:func:`find_cxx`, :func:`find_cc`, :func:`require_ninja`,
:func:`require_cuda`, :func:`find_nvcc`).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils import cpp_extension

from mlatlas.errors import MlatlasError

SOURCE_DIR = Path(__file__).resolve().parent
"""The folder holding the ``.cpp``, ``.cu`` and ``.c`` sources (shipped in the wheel)."""

CPU_SOURCES = ("rmsnorm_cpu.cpp",)
CUDA_SOURCES = ("rmsnorm_cuda.cu", "rmsnorm_cuda_ops.cpp")
C_SOURCE = "rmsnorm.c"

CXX_FLAGS = ("-O3", "-fopenmp")
"""``-O3``: ``load`` adds no optimisation level of its own. ``-fopenmp``: the row loop's pragma."""
LD_FLAGS = ("-fopenmp",)
CUDA_FLAGS = ("-O3",)
C_FLAGS = ("-O3", "-fPIC", "-shared", "-fopenmp-simd")
"""``-fopenmp-simd`` honours the ``omp simd`` pragmas without starting any thread."""

FINISHED = "build.finished"
"""Written into a build folder after a build succeeds: a later process only loads."""

NVCC_ARCH = "sm_80"
"""The GPU architecture the stand-alone nvcc check compiles for (A100 and later run it)."""

_TEXT = {"capture_output": True, "text": True}


@dataclass(frozen=True)
class Built:
    """What one build did.

    Example:
        >>> b = Built("mlatlas_rmsnorm_cpu_0123456789ab", Path("/tmp/x.so"), 7.5, compiled=True)
        >>> b.compiled, b.seconds
        (True, 7.5)
    """

    name: str
    """The library's name, ending in the hash of what it was built from."""
    path: Path
    """The shared library that was loaded."""
    seconds: float
    """Wall time of the build-and-load call."""
    compiled: bool
    """``True`` when this call compiled; ``False`` when the library was already built."""


# ---------------------------------------------------------------------------
# 1. The tools: found before anything runs, or one line saying which is missing.
# ---------------------------------------------------------------------------


def _find_compiler(variable: str, default: str, language: str, packages: str) -> str:
    name = os.environ.get(variable) or default
    path = shutil.which(name)
    if path is None:
        origin = f"${variable}" if os.environ.get(variable) else f"the default ({variable} is not set)"
        raise MlatlasError(
            f"no {language} compiler: {name!r}, from {origin}, is not an executable on PATH; "
            f"install {packages} or set {variable} to a compiler"
        )
    return path


def find_cxx() -> str:
    """The C++ compiler ``torch.utils.cpp_extension`` will run: ``$CXX``, else ``c++``.

    Raises:
        MlatlasError: If it is not an executable on ``PATH``.
    """
    return _find_compiler("CXX", "c++", "C++", "g++ (Debian: apt install g++)")


def find_cc() -> str:
    """The C compiler for the ``ctypes`` library: ``$CC``, else ``cc``.

    Raises:
        MlatlasError: If it is not an executable on ``PATH``.
    """
    return _find_compiler("CC", "cc", "C", "gcc (Debian: apt install gcc)")


def require_ninja() -> None:
    """Check that ``ninja`` runs: ``cpp_extension.load`` builds with it.

    Raises:
        MlatlasError: If it does not.
    """
    if not cpp_extension.is_ninja_available():
        _put_pip_ninja_on_path()
    if not cpp_extension.is_ninja_available():
        raise MlatlasError(
            "ninja is not installed: torch.utils.cpp_extension builds with it; "
            "pip install 'mlatlas[kernels]' (or apt install ninja-build)"
        )


def _put_pip_ninja_on_path() -> None:
    """Put the PyPI ``ninja`` package's binary on ``PATH``, where PyTorch looks for it.

    pip installs a ``ninja`` command into the environment's ``bin`` folder, which is
    not on ``PATH`` when a tool is run as ``.venv/bin/pytest`` without activating the
    environment.
    """
    try:
        import ninja  # the PyPI package, from the mlatlas[kernels] extra
    except ImportError:
        return
    os.environ["PATH"] = f"{ninja.BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}"


def require_cuda() -> str:
    """Check that a CUDA extension can be built and run here; return the toolkit's folder.

    Raises:
        MlatlasError: If PyTorch sees no CUDA device (a CPU-only wheel, no driver, no
            GPU) or PyTorch found no CUDA toolkit (``CUDA_HOME``).
    """
    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
        raise MlatlasError(f"no CUDA device: torch {torch.__version__} ({build}) sees no GPU")
    if cpp_extension.CUDA_HOME is None:
        raise MlatlasError("no CUDA toolkit: PyTorch found no nvcc; install the toolkit or set CUDA_HOME")
    return cpp_extension.CUDA_HOME


def find_nvcc() -> str:
    """The CUDA compiler: ``$CUDA_HOME/bin/nvcc`` if set, else ``nvcc`` on ``PATH``.

    Raises:
        MlatlasError: If neither exists.
    """
    home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    candidate = str(Path(home) / "bin" / "nvcc") if home else "nvcc"
    path = shutil.which(candidate)
    if path is None:
        raise MlatlasError(f"no CUDA compiler: {candidate!r} is not an executable; install the CUDA toolkit")
    return path


# ---------------------------------------------------------------------------
# 2. Where builds go: PyTorch's extension folder, one subfolder per source hash.
# ---------------------------------------------------------------------------


def source_hash(sources: tuple[str, ...], flags: tuple[str, ...]) -> str:
    """Twelve hex digits of SHA-256 over the sources' bytes, the flags and the PyTorch version.

    Example:
        >>> len(source_hash(CPU_SOURCES, CXX_FLAGS))
        12
    """
    digest = hashlib.sha256()
    for name in sources:
        digest.update(name.encode() + b"\0" + (SOURCE_DIR / name).read_bytes() + b"\0")
    digest.update(" ".join(flags).encode() + b"\0" + torch.__version__.encode())
    return digest.hexdigest()[:12]


def build_directory(name: str) -> Path:
    """The folder ``cpp_extension.load`` uses for an extension called ``name``.

    This is PyTorch's own choice (``$TORCH_EXTENSIONS_DIR`` or its default under the
    user's cache), so every build of the atlas sits next to other extensions.
    """
    root = os.environ.get("TORCH_EXTENSIONS_DIR")
    if root:
        return Path(root) / name
    choose = getattr(cpp_extension, "_get_build_directory", None)  # what load() itself calls (it creates it)
    return Path(choose(name, False)) if choose else Path(cpp_extension.get_default_build_root()) / name


def check_private(library: Path) -> None:
    """Refuse to load a library from a place another user could have put it.

    The library's path is predictable (the extension folder, the source hash), so if
    any folder on the way, or the file, can be written by another user, whatever they
    planted there would run in this process. Each existing folder from the
    extensions root down, and the library, must belong to this user (or root) and be
    writable by no one else, unless the folder is sticky, like ``/tmp``, where others
    cannot replace what is ours (and what is theirs fails the owner check).

    Raises:
        MlatlasError: A folder or the file is another user's, or writable by others.
    """
    root = Path(os.environ.get("TORCH_EXTENSIONS_DIR") or library.parent.parent)
    chain = [library, library.parent, *(p for p in library.parent.parents if p == root or root in p.parents)]
    for path in (p for p in chain if p.exists()):
        info = path.stat()
        sticky = path.is_dir() and info.st_mode & stat.S_ISVTX
        if info.st_uid not in {os.getuid(), 0}:
            raise MlatlasError(f"refusing to load a kernel from {path}: it belongs to another user (uid {info.st_uid})")
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not sticky:
            raise MlatlasError(
                f"refusing to load a kernel from {path}: other users can write it (mode {stat.filemode(info.st_mode)});"
                " set TORCH_EXTENSIONS_DIR to a folder only you can write"
            )


def _library_path(name: str) -> Path:
    return build_directory(name) / f"{name}.so"


def _first_error_line(text: str) -> str:
    """The compiler's first ``error:`` line, to name the problem in one line."""
    for line in text.splitlines():
        if "error" in line.lower():
            return line.strip()
    return text.strip().splitlines()[-1] if text.strip() else "no output"


# ---------------------------------------------------------------------------
# 3. The builds.
# ---------------------------------------------------------------------------


def _torch_extension(prefix: str, sources: tuple[str, ...], flags: tuple[str, ...], **options) -> Built:
    """Load one torch extension library, building it with ``cpp_extension.load`` if it is not built yet."""
    name = f"{prefix}_{source_hash(sources, flags)}"
    library = _library_path(name)
    finished = library.with_name(FINISHED)
    started = time.perf_counter()
    check_private(library)
    if finished.exists() and library.exists():
        # Built before, by this process or another: the folder's name is the hash of
        # what it was built from, so the library is current. Open it; no compiler,
        # no ninja, no lock.
        torch.ops.load_library(str(library))
        return Built(name, library, time.perf_counter() - started, compiled=False)
    find_cxx()
    require_ninja()
    library.parent.mkdir(parents=True, exist_ok=True)
    try:
        cpp_extension.load(
            name=name,
            sources=[str(SOURCE_DIR / s) for s in sources],
            build_directory=str(library.parent),
            is_python_module=False,  # a library of operators: load_library, no import
            verbose=False,
            **options,
        )
    except (RuntimeError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "output", None) or str(error)
        if isinstance(detail, bytes):
            detail = detail.decode(errors="replace")
        raise MlatlasError(
            f"building {name} failed ({_first_error_line(detail)}); its build files are in {library.parent}"
        ) from error
    _write_atomically(finished, f"{name}\n")
    return Built(name, library, time.perf_counter() - started, compiled=True)


def _write_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent)
    with os.fdopen(handle, "w") as out:
        out.write(text)
    os.replace(temporary, path)


@functools.cache
def load_cpu_library() -> Built:
    """Compile (once per machine) and load ``rmsnorm_cpu.cpp``: defines ``torch.ops.mlatlas.rms_norm``.

    Returns:
        What the build did. Later calls in the same process return the first call's
        record without doing anything.

    Raises:
        MlatlasError: If the C++ compiler or ninja is missing, or the build fails.
    """
    return _torch_extension(
        "mlatlas_rmsnorm_cpu",
        CPU_SOURCES,
        CXX_FLAGS + LD_FLAGS,
        extra_cflags=list(CXX_FLAGS),
        extra_ldflags=list(LD_FLAGS),
    )


@functools.cache
def load_cuda_library() -> Built:
    """Compile (once per machine) and load the CUDA kernel as the CUDA implementation of the op.

    The CPU library is loaded first: it defines the operator's schema, and the CUDA
    library only adds an implementation for tensors on a GPU.

    Raises:
        MlatlasError: If there is no GPU, no CUDA toolkit, compiler or ninja, or the
            build fails.
    """
    require_cuda()
    load_cpu_library()
    return _torch_extension(
        "mlatlas_rmsnorm_cuda",
        CUDA_SOURCES,
        ("-O3", *CUDA_FLAGS),
        extra_cflags=["-O3"],
        extra_cuda_cflags=list(CUDA_FLAGS),
        with_cuda=True,
    )


@functools.cache
def load_c_library() -> tuple[ctypes.CDLL, Built]:
    """Compile (once per machine) ``rmsnorm.c`` into a shared library and open it with ``ctypes``.

    Returns:
        The opened library (its functions have no argument types yet: see
        :mod:`mlatlas.kernels.rmsnorm_ctypes`) and what the build did.

    Raises:
        MlatlasError: If the C compiler is missing or the compilation fails.
    """
    name = f"mlatlas_rmsnorm_c_{source_hash((C_SOURCE,), C_FLAGS)}"
    library = _library_path(name)
    started = time.perf_counter()
    compiled = not library.exists()
    if compiled:
        compiler = find_cc()
        library.parent.mkdir(parents=True, exist_ok=True)
        # A temporary name next to the target, then a rename: another process either
        # sees no library or a whole one, never a half-written file.
        handle, temporary = tempfile.mkstemp(suffix=".so", dir=library.parent)
        os.close(handle)
        command = [compiler, *C_FLAGS, str(SOURCE_DIR / C_SOURCE), "-o", temporary, "-lm"]
        result = subprocess.run(command, **_TEXT)
        if result.returncode != 0:
            os.unlink(temporary)
            raise MlatlasError(f"compiling {C_SOURCE} failed: {_first_error_line(result.stderr)}")
        os.replace(temporary, library)
    opened = ctypes.CDLL(str(library))
    return opened, Built(name, library, time.perf_counter() - started, compiled=compiled)


# ---------------------------------------------------------------------------
# 4. The CUDA source on a machine without a GPU: compile it, run nothing.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NvccCheck:
    """The result of compiling ``rmsnorm_cuda.cu`` with nvcc alone (no GPU needed)."""

    nvcc_version: str
    """The release line of ``nvcc --version``."""
    arch: str
    """The architecture compiled for."""
    seconds: float
    """Wall time of the two compilations (to an object file and to PTX)."""
    object_bytes: int
    """Size of the object file, which holds the machine code (SASS) for :attr:`arch`."""
    kernels: tuple[str, ...]
    """The kernel entry points in the PTX, demangled to their template argument."""
    shuffles: int
    """How many ``shfl.sync`` (warp shuffle) instructions the PTX holds."""


def check_cuda_source(out_dir: str | os.PathLike[str], arch: str = NVCC_ARCH) -> NvccCheck:
    """Compile ``rmsnorm_cuda.cu`` with nvcc to an object file and to PTX, and read the PTX.

    The kernel file includes no PyTorch header, so this needs only the CUDA toolkit:
    it checks that the device code compiles (``ptxas`` included) on a machine with
    no GPU and a CPU-only PyTorch.

    Args:
        out_dir: Where the object and PTX files are written.
        arch: A real GPU architecture such as ``sm_80``.

    Raises:
        MlatlasError: If nvcc is missing or fails.
    """
    nvcc = find_nvcc()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    source = SOURCE_DIR / CUDA_SOURCES[0]
    started = time.perf_counter()
    for flag, target in (("-c", out / "rmsnorm_cuda.o"), ("--ptx", out / "rmsnorm_cuda.ptx")):
        result = subprocess.run([nvcc, "-O3", f"-arch={arch}", flag, str(source), "-o", str(target)], **_TEXT)
        if result.returncode != 0:
            raise MlatlasError(f"nvcc failed on {source.name}: {_first_error_line(result.stderr)}")
    seconds = time.perf_counter() - started
    ptx = (out / "rmsnorm_cuda.ptx").read_text()
    version = subprocess.run([nvcc, "--version"], **_TEXT).stdout
    release = next((line.strip() for line in version.splitlines() if "release" in line), version.strip())
    kernels = tuple(_kernel_type(m) for m in re.findall(r"\.entry\s+(\S+?)\(", ptx))
    return NvccCheck(
        nvcc_version=release,
        arch=arch,
        seconds=seconds,
        object_bytes=(out / "rmsnorm_cuda.o").stat().st_size,
        kernels=kernels,
        shuffles=len(re.findall(r"\bshfl\.sync\b", ptx)),
    )


def _kernel_type(mangled: str) -> str:
    """``rms_norm_kernel<float>`` from an Itanium-mangled entry name (the three types used here)."""
    for code, name in (("IfE", "float"), ("IdE", "double"), ("I13__nv_bfloat16E", "__nv_bfloat16")):
        if f"rms_norm_kernel{code}" in mangled:
            return f"rms_norm_kernel<{name}>"
    return mangled
