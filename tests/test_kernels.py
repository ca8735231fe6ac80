"""RMSNorm kernels: each equals the PyTorch reference, and the reference equals PyTorch's own.

The reference is checked against ``torch.nn.functional.rms_norm`` and against autograd;
the C++ operator and the ctypes C function against the reference on random shapes
(hypothesis) in every format they take. The operator is also checked by PyTorch's own
``torch.library.opcheck`` (schema, fake implementation, autograd registration) and
under ``torch.compile(fullgraph=True)``. The CUDA source is compiled with nvcc where
nvcc exists; the CUDA operator runs only where PyTorch sees a GPU. A missing tool
fails in one line naming it.
"""

from __future__ import annotations

import ctypes
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.utils import cpp_extension

from conftest import ROOT, run_env
from mlatlas.errors import MlatlasError
from mlatlas.kernels import build, compare, ops, reference, rmsnorm_ctypes
from mlatlas.labs.bench.timing import Budget

# No example database: it would write .hypothesis/ into the checkout.
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)

# Shapes: up to two leading dimensions (including empty ones) and a last dimension
# that is not a multiple of any vector width.
SHAPES = st.tuples(st.lists(st.integers(0, 9), max_size=2), st.integers(1, 300)).map(lambda s: (*s[0], s[1]))

TOLERANCE = {  # (rtol, atol) of each format against the reference in the same format
    torch.float32: (1e-5, 1e-5),
    torch.float64: (1e-12, 1e-12),
    torch.bfloat16: (2**-7, 2**-7),  # one unit in the last place of bf16's 8-bit significand
}


@pytest.fixture(scope="module")
def op():
    """The compiled operator (built once per machine, then loaded from the cache)."""
    return ops.load()


def random_pair(shape: tuple[int, ...], dtype: torch.dtype, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = 3 * torch.randn(shape, generator=generator, dtype=torch.float64)
    weight = torch.randn(shape[-1], generator=generator, dtype=torch.float64)
    return x.to(dtype), weight.to(dtype)


# --- the reference --------------------------------------------------------------------


@given(shape=SHAPES, seed=st.integers(0, 2**31 - 1), eps=st.sampled_from([0.0, 1e-6, 1e-2]))
@FAST
def test_reference_equals_torch_rms_norm(shape, seed, eps) -> None:
    x, weight = random_pair(shape, torch.float64, seed)
    if eps == 0.0:
        x[..., 0] = 1.0  # no all-zero row without eps
    expected = F.rms_norm(x, (shape[-1],), weight, eps)
    torch.testing.assert_close(reference.rms_norm(x, weight, eps), expected, rtol=1e-12, atol=1e-12)


def test_reference_by_hand() -> None:
    """[1, 2, 2]: mean square 3, so y = x / sqrt(3) * g."""
    x = torch.tensor([[1.0, 2.0, 2.0]], dtype=torch.float64)
    weight = torch.tensor([1.0, 0.5, -1.0], dtype=torch.float64)
    expected = torch.tensor([[1.0, 1.0, -2.0]], dtype=torch.float64) / 3**0.5
    torch.testing.assert_close(reference.rms_norm(x, weight, eps=0.0), expected)


def test_reference_keeps_bf16_in_float32_until_the_end() -> None:
    """A bf16 row of 4096 ones has mean square 1; a sum kept in bf16 would stall at 256."""
    x = torch.ones(1, 4096, dtype=torch.bfloat16)
    out = reference.rms_norm(x, torch.ones(4096, dtype=torch.bfloat16), eps=0.0)
    assert out.dtype == torch.bfloat16 and torch.all(out == 1)


@given(shape=SHAPES, seed=st.integers(0, 2**31 - 1))
@FAST
def test_backward_formula_equals_autograd(shape, seed) -> None:
    x, weight = random_pair(shape, torch.float64, seed)
    grad = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed + 1))
    x.requires_grad_(True)
    weight.requires_grad_(True)
    expected = torch.autograd.grad(reference.rms_norm(x, weight), (x, weight), grad)
    got = reference.rms_norm_backward(grad, x.detach(), weight.detach())
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


# --- the C++ operator -----------------------------------------------------------------


@given(shape=SHAPES, dtype=st.sampled_from(ops.DTYPES), seed=st.integers(0, 2**31 - 1))
@FAST
def test_cpp_op_equals_reference(op, shape, dtype, seed) -> None:
    x, weight = random_pair(shape, dtype, seed)
    out = ops.rms_norm(x, weight)
    rtol, atol = TOLERANCE[dtype]
    assert out.dtype == dtype and out.shape == x.shape
    torch.testing.assert_close(out, reference.rms_norm(x, weight), rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", ops.DTYPES, ids=str)
def test_cpp_op_on_a_model_sized_input(op, dtype) -> None:
    """Many rows (the OpenMP loop splits them over threads) of a hidden size of 4096."""
    x, weight = random_pair((257, 4096), dtype, seed=1)
    rtol, atol = TOLERANCE[dtype]
    torch.testing.assert_close(op(x, weight, 1e-5), reference.rms_norm(x, weight, 1e-5), rtol=rtol, atol=atol)


@pytest.mark.parametrize(
    "view",
    [lambda t: t.transpose(0, 1), lambda t: t[:, ::2], lambda t: t[::3]],
    ids=["transposed", "every-other-column", "every-third-row"],
)
def test_cpp_op_takes_non_contiguous_input(op, view) -> None:
    x, _ = random_pair((24, 40), torch.float32, seed=2)
    x = view(x)
    assert not x.is_contiguous()
    weight = torch.randn(x.shape[-1])
    out = ops.rms_norm(x, weight)
    assert out.is_contiguous()
    torch.testing.assert_close(out, reference.rms_norm(x.contiguous(), weight), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", ops.DTYPES, ids=str)
def test_out_overload_writes_into_the_given_tensor(op, dtype) -> None:
    x, weight = random_pair((9, 70), dtype, seed=9)
    out = torch.full_like(x, float("nan"))
    returned = ops.rms_norm(x.T.contiguous().T, weight, out=out)  # non-contiguous input, contiguous out
    assert returned.data_ptr() == out.data_ptr()
    assert torch.equal(out, ops.rms_norm(x, weight))
    with pytest.raises(MlatlasError, match="out must be a contiguous"):
        ops.rms_norm(x, weight, out=torch.empty(9, 71, dtype=dtype))
    with pytest.raises(RuntimeError, match="out must be a contiguous tensor of x's shape and dtype"):
        torch.ops.mlatlas.rms_norm_out(x, weight, 1e-6, torch.empty(70, 9, dtype=dtype).T)


def test_cpp_op_zero_rows_and_eps(op) -> None:
    empty = ops.rms_norm(torch.empty(0, 7), torch.ones(7))
    assert empty.shape == (0, 7)
    zeros = ops.rms_norm(torch.zeros(2, 5), torch.ones(5), eps=1e-6)
    assert torch.equal(zeros, torch.zeros(2, 5))  # eps keeps 0 / sqrt(0 + eps) finite


@pytest.mark.parametrize(
    ("x", "weight", "eps", "message"),
    [
        (torch.ones(2, 3), torch.ones(4), 1e-6, "weight has 4 elements but the last dimension of x has 3"),
        (torch.ones(2, 3), torch.ones(1, 3), 1e-6, "weight must be one-dimensional"),
        (torch.ones(2, 0), torch.ones(0), 1e-6, "non-empty last dimension"),
        (torch.ones(2, 3), torch.ones(3, dtype=torch.float64), 1e-6, "must share one of float32, float64, bfloat16"),
        (torch.ones(2, 3, dtype=torch.float16), torch.ones(3, dtype=torch.float16), 1e-6, "torch.float16"),
        (torch.ones(2, 3), torch.ones(3), -1.0, "eps must be non-negative"),
    ],
)
def test_bad_arguments_fail_in_one_line(x, weight, eps, message) -> None:
    with pytest.raises(MlatlasError, match=message) as caught:
        ops.rms_norm(x, weight, eps)
    assert "\n" not in str(caught.value)


def test_the_op_checks_its_arguments_itself(op) -> None:
    """Called directly, bypassing the Python checks, the C++ TORCH_CHECKs stop bad input."""
    with pytest.raises(RuntimeError, match="weight has 4 elements but the last dimension of x has 3"):
        op(torch.ones(2, 3), torch.ones(4), 1e-6)
    with pytest.raises(RuntimeError, match="x is Float but weight is Double"):
        op(torch.ones(2, 3), torch.ones(3, dtype=torch.float64), 1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_opcheck(op, dtype) -> None:
    """PyTorch's own test of a custom operator: schema, fake kernel, autograd, AOT dispatch."""
    x, weight = random_pair((5, 33), dtype, seed=3)
    torch.library.opcheck(torch.ops.mlatlas.rms_norm.default, (x, weight, 1e-6))
    torch.library.opcheck(torch.ops.mlatlas.rms_norm.default, (x.requires_grad_(), weight.requires_grad_(), 1e-6))
    out = torch.empty(5, 33, dtype=dtype)
    torch.library.opcheck(torch.ops.mlatlas.rms_norm_out.default, (x.detach(), weight.detach(), 1e-6, out))


def test_gradcheck(op) -> None:
    """Finite differences agree with the registered backward, in float64."""
    x, weight = random_pair((4, 7), torch.float64, seed=4)
    assert torch.autograd.gradcheck(ops.rms_norm, (x.requires_grad_(), weight.requires_grad_()))


def test_gradient_equals_reference_gradient(op) -> None:
    x, weight = random_pair((3, 6, 50), torch.float32, seed=5)
    grads = []
    for function in (ops.rms_norm, reference.rms_norm):
        xr, wr = x.clone().requires_grad_(), weight.clone().requires_grad_()
        (function(xr, wr) * torch.linspace(-1, 1, 50)).sum().backward()
        grads.append((xr.grad, wr.grad))
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-5, atol=1e-5)


def test_fullgraph_compile_keeps_the_op_as_one_node(op) -> None:
    """torch.compile traces through the fake kernel: no graph break, the op is one call."""
    graphs = []

    def capture(graph_module, example_inputs):
        graphs.append(graph_module)
        return graph_module.forward

    x, weight = random_pair((8, 64), torch.float32, seed=6)
    compiled = torch.compile(lambda a, b: ops.rms_norm(a, b) * 2, backend=capture, fullgraph=True)
    torch.testing.assert_close(compiled(x, weight), 2 * ops.rms_norm(x, weight))
    (graph,) = graphs
    calls = [n.target for n in graph.graph.nodes if n.op == "call_function"]
    assert [c for c in calls if c in (torch.ops.mlatlas.rms_norm, torch.ops.mlatlas.rms_norm.default)] == [op]


def test_inductor_compile_and_backward(op) -> None:
    """Inductor compiles the op alone (no generated C++, so seconds); aot_eager runs its backward."""
    x, weight = random_pair((16, 96), torch.float32, seed=7)
    compiled = torch.compile(ops.rms_norm, fullgraph=True)
    assert torch.equal(compiled(x, weight), ops.rms_norm(x, weight))

    loss = torch.compile(lambda a, b: ops.rms_norm(a, b).pow(2).sum(), fullgraph=True, backend="aot_eager")
    xr, wr = x.clone().requires_grad_(), weight.clone().requires_grad_()
    loss(xr, wr).backward()
    expected = torch.autograd.grad(reference.rms_norm(x.requires_grad_(), weight).pow(2).sum(), x)[0]
    torch.testing.assert_close(xr.grad, expected, rtol=1e-5, atol=1e-5)


# --- the C function through ctypes ----------------------------------------------------


@given(shape=SHAPES, dtype=st.sampled_from([torch.float32, torch.float64]), seed=st.integers(0, 2**31 - 1))
@FAST
def test_ctypes_equals_reference(shape, dtype, seed) -> None:
    x, weight = random_pair(shape, dtype, seed)
    out = rmsnorm_ctypes.rms_norm(x.numpy(), weight.numpy())
    rtol, atol = TOLERANCE[dtype]
    assert out.dtype == x.numpy().dtype and out.shape == shape
    torch.testing.assert_close(torch.from_numpy(out), reference.rms_norm(x, weight), rtol=rtol, atol=atol)


def test_ctypes_takes_a_strided_array() -> None:
    x, weight = random_pair((30, 20), torch.float64, seed=8)
    view = x.numpy()[::2, ::-1]
    out = rmsnorm_ctypes.rms_norm(view, weight.numpy())
    torch.testing.assert_close(torch.from_numpy(out), reference.rms_norm(torch.from_numpy(view.copy()), weight))


def test_ctypes_writes_into_out() -> None:
    x, weight = random_pair((6, 10), torch.float32, seed=10)
    out = np.full((6, 10), np.nan, dtype=np.float32)
    assert rmsnorm_ctypes.rms_norm(x.numpy(), weight.numpy(), out=out) is out
    torch.testing.assert_close(torch.from_numpy(out), reference.rms_norm(x, weight), rtol=1e-5, atol=1e-5)
    with pytest.raises(MlatlasError, match="out must be a C-contiguous float32 array"):
        rmsnorm_ctypes.rms_norm(x.numpy(), weight.numpy(), out=np.empty((10, 6), dtype=np.float32).T)


def test_ctypes_refuses_what_c_cannot_take() -> None:
    with pytest.raises(MlatlasError, match="float32 or float64"):
        rmsnorm_ctypes.rms_norm(np.ones((2, 3), dtype=np.float16), np.ones(3, dtype=np.float16))
    with pytest.raises(MlatlasError, match="weight must have shape"):
        rmsnorm_ctypes.rms_norm(np.ones((2, 3), dtype=np.float32), np.ones(4, dtype=np.float32))


def test_ndpointer_refuses_a_wrong_array_before_c_sees_it() -> None:
    """The declared argument types check dtype and layout: float64 bytes never reach the f32 function."""
    function = rmsnorm_ctypes.functions()[np.dtype(np.float32)]
    wrong = np.ones((2, 3), dtype=np.float64)
    with pytest.raises(ctypes.ArgumentError, match="array must have data type float32"):
        function(wrong, np.ones(3, dtype=np.float32), np.empty((2, 3), dtype=np.float32), 2, 3, 1e-6)
    strided = np.ones((2, 6), dtype=np.float32)[:, ::2]
    with pytest.raises(ctypes.ArgumentError, match="C_CONTIGUOUS"):
        function(strided, np.ones(3, dtype=np.float32), np.empty((2, 3), dtype=np.float32), 2, 3, 1e-6)


# --- building: cache, missing tools, CUDA -----------------------------------------------


def test_a_second_process_loads_from_the_cache(op) -> None:
    """Once built, a library is only opened: a process with no compiler at all can use it."""
    build.load_c_library()
    code = (
        "from mlatlas.kernels import build; b = build.load_cpu_library(); c = build.load_c_library()[1];"
        "print(b.compiled, c.compiled, b.path)"
    )
    env = {**run_env(), "CXX": "/nonexistent/c++", "CC": "/nonexistent/cc"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    cpp_compiled, c_compiled, path = result.stdout.split()
    assert (cpp_compiled, c_compiled) == ("False", "False")
    assert Path(path) == build.load_cpu_library().path and Path(path).is_file()
    assert Path(path).parent == build.build_directory(build.load_cpu_library().name)
    assert (Path(path).parent / build.FINISHED).is_file()


def test_the_cache_key_changes_with_the_flags() -> None:
    assert build.source_hash(build.CPU_SOURCES, ("-O3",)) != build.source_hash(build.CPU_SOURCES, ("-O2",))
    assert build.source_hash(build.CPU_SOURCES, ("-O3",)) == build.source_hash(build.CPU_SOURCES, ("-O3",))


@pytest.mark.parametrize(
    ("variable", "load", "language"),
    [("CXX", build.load_cpu_library, "C++"), ("CC", build.load_c_library, "C")],
    ids=["cxx", "cc"],
)
def test_missing_compiler_is_one_line(monkeypatch, tmp_path, variable, load, language) -> None:
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))  # nothing built there yet
    monkeypatch.setenv(variable, "/nonexistent/bin/compiler")
    with pytest.raises(MlatlasError) as caught:
        load.__wrapped__()  # past the per-process cache: what a first call does
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"no {language} compiler: '/nonexistent/bin/compiler', from ${variable}")
    assert list(tmp_path.iterdir()) == []


def test_missing_compiler_from_a_fresh_process(tmp_path) -> None:
    """End to end, as a user meets it: an empty build cache and no compiler."""
    env = {**run_env(), "CXX": "no-such-c++", "TORCH_EXTENSIONS_DIR": str(tmp_path)}
    code = "import torch; from mlatlas.kernels import ops; ops.rms_norm(torch.ones(2, 3), torch.ones(3))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("mlatlas.errors.MlatlasError: no C++ compiler: 'no-such-c++', from $CXX")
    assert list(tmp_path.iterdir()) == []  # nothing was half-built


def test_a_library_others_could_have_planted_is_not_loaded(monkeypatch, tmp_path) -> None:
    """A world-writable extensions folder holding a "built" library under the predictable name: refused."""
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    tmp_path.chmod(0o777)
    name = f"mlatlas_rmsnorm_cpu_{build.source_hash(build.CPU_SOURCES, build.CXX_FLAGS + build.LD_FLAGS)}"
    planted = tmp_path / name / f"{name}.so"
    planted.parent.mkdir()
    planted.write_bytes(b"not a library")
    (planted.parent / build.FINISHED).write_text(name + "\n")
    with pytest.raises(MlatlasError, match=r"^refusing to load a kernel from .*: other users can write it"):
        build.load_cpu_library.__wrapped__()
    tmp_path.chmod(0o700)
    (planted.parent).chmod(0o777)
    with pytest.raises(MlatlasError, match=rf"^refusing to load a kernel from {planted.parent}: other users"):
        build.load_cpu_library.__wrapped__()


def test_missing_ninja_is_one_line(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    monkeypatch.setattr(cpp_extension, "is_ninja_available", lambda: False)
    with pytest.raises(MlatlasError, match=r"^ninja is not installed: .*mlatlas\[kernels\]") as caught:
        build.load_cpu_library.__wrapped__()
    assert "\n" not in str(caught.value)


def test_missing_nvcc_is_one_line(monkeypatch) -> None:
    monkeypatch.setenv("CUDA_HOME", "/nonexistent/cuda")
    with pytest.raises(MlatlasError, match="^no CUDA compiler: '/nonexistent/cuda/bin/nvcc' is not an executable"):
        build.find_nvcc()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_build_says_why_not_without_a_gpu() -> None:
    with pytest.raises(MlatlasError, match="^no CUDA device: torch .* sees no GPU$"):
        build.load_cuda_library.__wrapped__()


def _nvcc_or_skip() -> str:
    try:
        return build.find_nvcc()
    except MlatlasError as error:
        pytest.skip(str(error))


def test_cuda_source_compiles_with_nvcc(tmp_path) -> None:
    """No GPU needed: nvcc compiles the kernels to machine code and PTX; the PTX has warp shuffles."""
    _nvcc_or_skip()
    check = build.check_cuda_source(tmp_path)
    assert check.kernels == ("rms_norm_kernel<float>", "rms_norm_kernel<double>", "rms_norm_kernel<__nv_bfloat16>")
    assert check.shuffles >= 3 * 5  # five butterfly steps per kernel at least
    assert check.object_bytes > 0 and "release" in check.nvcc_version


def test_cuda_binding_compiles_against_torch_headers(tmp_path) -> None:
    """The torch side of the CUDA build, syntax-checked with the host compiler.

    A CPU-only PyTorch ships c10/cuda headers but not the one CMake generates,
    ``c10/cuda/impl/cuda_cmake_macros.h``; its content for a shared-library build is
    the single define written below.
    """
    (tmp_path / "empty.cu").touch()  # nvcc --dryrun prints the include folder it would use
    dryrun = subprocess.run(
        [_nvcc_or_skip(), "--dryrun", "-c", "empty.cu"], cwd=tmp_path, capture_output=True, text=True
    )
    folders = [Path(p) for p in re.findall(r'INCLUDES="-I([^"]+)"', dryrun.stdout + dryrun.stderr)]
    cuda_include = next((p for p in folders if (p / "cuda_runtime_api.h").exists()), None)
    if cuda_include is None:
        pytest.skip("nvcc names no folder with cuda_runtime_api.h")
    generated = tmp_path / "c10" / "cuda" / "impl" / "cuda_cmake_macros.h"
    generated.parent.mkdir(parents=True)
    generated.write_text("#define C10_CUDA_BUILD_SHARED_LIBS\n")
    includes = [f"-isystem{p}" for p in [*cpp_extension.include_paths(), str(tmp_path), str(cuda_include)]]
    source = build.SOURCE_DIR / build.CUDA_SOURCES[1]
    command = [build.find_cxx(), "-std=c++20", "-fsyntax-only", *includes, str(source)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="PyTorch sees no GPU here")
@pytest.mark.parametrize("dtype", ops.DTYPES, ids=str)
def test_cuda_op_equals_reference(dtype) -> None:
    ops.load()
    for shape in [(1, 1), (3, 31), (7, 1000), (130, 4096), (2, 5, 8193)]:
        x, weight = random_pair(shape, dtype, seed=sum(shape))
        out = ops.rms_norm(x.cuda(), weight.cuda())
        rtol, atol = TOLERANCE[dtype]
        assert out.is_cuda
        torch.testing.assert_close(out.cpu(), reference.rms_norm(x, weight), rtol=rtol, atol=atol)


# --- the comparison that the benchmark and the page print ---------------------------------


def test_compare_measures_every_cpu_implementation(op) -> None:
    results = compare.measure_all(16, 128, "fp32", budget=Budget(0.0, 0.0, 3, 3), compiled=False, flush=False)
    names = [m.implementation for m in results]
    assert names == [compare.REFERENCE, "F.rms_norm", "C++ op", "C via ctypes"]
    assert all(m.timing.reps == 3 and m.max_abs_error < 1e-5 for m in results)
    assert results[0].bytes_moved == (2 * 16 * 128 + 128) * 4
    assert compare.speedups(results)[compare.REFERENCE] == 1.0
    x, weight = compare.inputs(4, 8, "bf16", "cpu")
    assert "C via ctypes" not in compare.implementations(x, weight, compiled=False)


def test_sources_ship_in_the_wheel() -> None:
    """pyproject.toml's package data names every source that build.py compiles."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for pattern in ("kernels/*.cpp", "kernels/*.cu", "kernels/*.c"):
        assert f'"{pattern}"' in text
    for name in (*build.CPU_SOURCES, *build.CUDA_SOURCES, build.C_SOURCE):
        assert (build.SOURCE_DIR / name).is_file()
