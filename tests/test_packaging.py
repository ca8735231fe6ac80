"""Packaging: the wheel and sdist build, hold what they should, install fresh and run."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

import mlatlas
from conftest import ROOT
from mlatlas import packaging
from mlatlas.data import load_rows
from mlatlas.errors import MlatlasError

DIST_INFO = {"METADATA", "WHEEL", "RECORD", "entry_points.txt", "top_level.txt", "licenses/LICENSE"}
"""What setuptools puts in the wheel's .dist-info for this project."""


@pytest.fixture(scope="session")
def wheel(dists: packaging.Distributions) -> packaging.WheelContents:
    return packaging.inspect_wheel(dists.wheel)


@pytest.fixture(scope="session")
def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_archive_names_follow_the_version(dists: packaging.Distributions) -> None:
    assert dists.sdist.name == f"mlatlas-{mlatlas.__version__}.tar.gz"
    assert dists.wheel.name == f"mlatlas-{mlatlas.__version__}-py3-none-any.whl"


def test_the_wheel_holds_every_module_and_data_file(wheel: packaging.WheelContents) -> None:
    package = ROOT / "mlatlas"
    sources = {str(p.relative_to(ROOT)) for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    needed = {p for p in sources if p.endswith((".py", ".yaml", ".json"))}
    shipped = {path for path in wheel.files if path.startswith("mlatlas/")}
    assert needed <= shipped <= sources  # every module and data file; nothing that is not in the checkout
    assert "mlatlas/data/licences.yaml" in wheel.data_files()
    assert set(wheel.files) - shipped == {f"{wheel.dist_info()}/{name}" for name in DIST_INFO}


def test_metadata_matches_pyproject(wheel: packaging.WheelContents, project: dict) -> None:
    meta = wheel.metadata
    assert meta["Name"] == "mlatlas" and meta["Version"] == mlatlas.__version__
    assert meta["License-Expression"] == project["license"] == "MIT"
    assert meta["License-File"] == "LICENSE"
    assert meta["Requires-Python"] == project["requires-python"]
    # Each runtime dependency of pyproject.toml appears, bounds and all (setuptools may reorder them).
    required = meta.get_all("Requires-Dist")
    for dependency in project["dependencies"]:
        name = re.match(r"[A-Za-z0-9._-]+", dependency).group(0)
        line = next(r for r in required if r.startswith(name))
        assert sorted(re.findall(r"[<>=!]=?[\d.]+", line)) == sorted(re.findall(r"[<>=!]=?[\d.]+", dependency))
    assert set(meta.get_all("Provides-Extra")) == set(project["optional-dependencies"])
    licence = wheel.files[f"{wheel.dist_info()}/licenses/LICENSE"]
    assert licence == (ROOT / "LICENSE").stat().st_size


def test_entry_point_is_the_console_script(wheel: packaging.WheelContents, project: dict) -> None:
    assert wheel.entry_points == {"console_scripts": project["scripts"]}
    assert project["scripts"] == {"mlatlas": "mlatlas.cli:main"}


def test_the_sdist_holds_the_sources(dists: packaging.Distributions, wheel: packaging.WheelContents) -> None:
    files = packaging.sdist_files(dists.sdist)
    assert {"pyproject.toml", "README.md", "LICENSE", "PKG-INFO"} <= set(files)
    modules = {path for path in wheel.files if path.startswith("mlatlas/")}
    assert modules <= set(files)  # the wheel was built from the sdist, so it can hold nothing more


def test_the_wheel_installs_into_a_fresh_venv_and_runs(
    dists: packaging.Distributions, tmp_path_factory: pytest.TempPathFactory
) -> None:
    env = tmp_path_factory.mktemp("fresh") / "venv"
    bin_dir = packaging.install_into_fresh_venv(dists.wheel, env)

    def run(*command: str | Path) -> str:  # from outside the checkout: `python -c` puts the cwd on sys.path
        return subprocess.run(command, cwd=env, capture_output=True, text=True, check=True).stdout

    assert run(bin_dir / "mlatlas", "--version").strip() == f"mlatlas {mlatlas.__version__}"
    # The code that runs is the wheel's copy, not this checkout's.
    where = Path(run(bin_dir / "python", "-c", "import mlatlas; print(mlatlas.__file__)").strip())
    assert where.is_relative_to(env) and not where.is_relative_to(ROOT)
    # A real command that reads the wheel's package data (accelerators.yaml, export_rules.yaml).
    check = run(bin_dir / "mlatlas", "export-check", "--chip", "H100", "--json")
    assert json.loads(check)["tpp"] == pytest.approx(989.5 * 16)
    with pytest.raises(MlatlasError, match="already exists"):
        packaging.install_into_fresh_venv(dists.wheel, env)


def test_without_borrowed_dependencies_the_import_fails(
    dists: packaging.Distributions, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The .pth is what supplies the dependencies: without it, `--no-deps` really means none."""
    bin_dir = packaging.install_into_fresh_venv(dists.wheel, tmp_path_factory.mktemp("bare") / "venv", False)
    result = subprocess.run(
        [bin_dir / "python", "-c", "import mlatlas.data"], cwd=bin_dir, capture_output=True, text=True
    )
    assert result.returncode != 0 and "No module named 'yaml'" in result.stderr


def test_a_broken_project_fails_to_build_with_one_line(tmp_path: Path) -> None:
    source = packaging.copy_project(ROOT, tmp_path / "src")
    (source / "pyproject.toml").write_text("[project\n", encoding="utf-8")
    with pytest.raises(MlatlasError, match="python -m build failed"):
        packaging.build(source, tmp_path / "dist")
    with pytest.raises(MlatlasError, match="not found"):
        packaging.copy_project(tmp_path / "nowhere", tmp_path / "copy")


def test_no_isolation_still_checks_the_build_requirements(tmp_path: Path) -> None:
    """--no-isolation uses this environment, but build refuses if a [build-system] requirement is missing."""
    source = packaging.copy_project(ROOT, tmp_path / "src")
    pyproject = source / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    missing = text.replace(
        'requires = ["setuptools>=69", "wheel"]', 'requires = ["setuptools>=69", "mlatlas-absent-backend"]'
    )
    assert missing != text
    pyproject.write_text(missing, encoding="utf-8")
    with pytest.raises(MlatlasError, match="mlatlas-absent-backend"):
        packaging.build(source, tmp_path / "dist")


def _normal(text: str) -> str:
    return " ".join(text.split())


def _apache_text() -> str:
    """The Apache License 2.0 as shipped by an installed package (torch, packaging, ...)."""
    for dist in metadata.distributions():
        for file in dist.files or []:
            if "dist-info" in str(file) and ("LICENSE" in file.name.upper() or "LICENCE" in file.name.upper()):
                path = Path(file.locate())
                text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
                if _normal(text).startswith("Apache License Version 2.0, January 2004"):
                    return _normal(text)
    pytest.fail("no installed package ships the Apache License 2.0 text")


def test_every_quote_is_in_the_licence_text() -> None:
    mit, apache = _normal((ROOT / "LICENSE").read_text(encoding="utf-8")), _apache_text()
    rows = load_rows("licences")
    assert len(rows) >= 10
    for row in rows:
        if row["mit_quote"]:
            assert _normal(row["mit_quote"]) in mit, row["point"]
        assert _normal(row["apache_quote"]) in apache, row["point"]
        section = re.match(r"§(\d)", row["section"]).group(1)
        assert f"§{section}" in row["source"]
    points = {row["point"] for row in rows}
    assert {"Patent grant", "Patent retaliation", "NOTICE file", "Trademarks", "Warranty"} <= points


def test_the_apache_sections_are_where_the_rows_say() -> None:
    """Each Apache quote lies between the heading of its section and the next one."""
    apache = _apache_text()
    starts = {n: apache.index(f" {n}. ", apache.index("TERMS AND CONDITIONS")) for n in range(1, 10)}
    starts[10] = apache.index("END OF TERMS AND CONDITIONS")
    for row in load_rows("licences"):
        n = int(re.match(r"§(\d)", row["section"]).group(1))
        at = apache.index(_normal(row["apache_quote"]))
        assert starts[n] < at < starts[n + 1], row["point"]


def test_dependency_licences_come_from_installed_metadata() -> None:
    deps = {d.name.lower(): d for d in packaging.runtime_dependencies()}
    assert {"torch", "numpy", "pyyaml", "rich", "scipy"} <= set(deps)
    assert {d.required_by for d in deps.values() if d.name.lower() in {"torch", "numpy"}} == {"mlatlas"}
    for name, dist in deps.items():
        assert dist.version == metadata.version(name)
        meta = metadata.metadata(name)
        if meta["License-Expression"]:
            assert (dist.licence, dist.field) == (meta["License-Expression"], "License-Expression")
    assert "extrude" not in {d.required_by for d in deps.values()}
    assert "trimesh" not in deps and "pillow" not in deps  # extras are not runtime dependencies
    with pytest.raises(MlatlasError, match="not installed"):
        packaging.runtime_dependencies("surely-not-installed-mlatlas-probe")


def test_declared_licence_prefers_the_spdx_expression() -> None:
    from email.message import Message

    meta = Message()
    meta["License"] = "BSD"
    meta["Classifier"] = "License :: OSI Approved :: BSD License"
    assert packaging.declared_licence(meta) == ("BSD License", "Classifier")
    meta["License-Expression"] = "BSD-3-Clause"
    assert packaging.declared_licence(meta) == ("BSD-3-Clause", "License-Expression")
    assert packaging.declared_licence(Message()) == ("unknown", "")
