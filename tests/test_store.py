"""The execution store: keys, what a block read, staleness, sessions, notebooks, install lines.

Each test runs real blocks in real processes in a small git repository of its own,
and checks what the store recorded against what the block really did.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import markdown
import markdown_exec
import pytest

from mlatlas.store import Block, Store, block_key, fence, produce
from mlatlas.store.entry import installed_version
from mlatlas.store.notebook import cells, code_cells, outputs_of, to_ipynb
from mlatlas.store.page import install_line, needed, notebook_of


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with a data file and a module, as a checkout of the atlas would have."""
    (tmp_path / "data.txt").write_text("forty-two\n", encoding="utf-8")
    (tmp_path / "helper.py").write_text("ANSWER = 42\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start"], cwd=tmp_path, check=True
    )
    return tmp_path


def _one(store: Store, lang: str, code: str):
    ((entry, outcome),) = produce(store, [Block("page.md", 1, lang, code)])
    return entry, outcome


def test_a_block_depends_on_the_files_it_read_and_goes_stale_when_one_changes(repo: Path) -> None:
    store = Store(repo / "store", repo)
    entry, outcome = _one(store, "python", "import helper\nprint(open('data.txt').read().strip(), helper.ANSWER)")
    assert outcome.returncode == 0 and entry.output == "forty-two 42\n"
    assert set(entry.inputs) == {"data.txt", "helper.py"}
    assert store.get(entry.key) == entry and store.stale(entry) is None
    (repo / "helper.py").write_text("ANSWER = 43\n", encoding="utf-8")
    assert store.stale(entry) == "helper.py changed"


def test_a_shell_block_is_traced_through_the_processes_it_starts(repo: Path) -> None:
    """A bash block that runs Python (as ``mlatlas ...`` does) records what that process read."""
    code = "echo shell\npython -c \"print(open('data.txt').read())\""
    entry, outcome = _one(Store(repo / "store", repo), "bash", code)
    assert outcome.returncode == 0 and entry.output.startswith("shell\nforty-two")
    assert "data.txt" in entry.inputs


def test_written_files_and_the_store_itself_are_not_inputs(repo: Path) -> None:
    store = Store(repo / "store", repo)
    entry, _ = _one(store, "python", "open('made.txt', 'w').write('x')\nprint(open('made.txt').read())")
    assert "made.txt" not in entry.inputs
    assert not any(name.startswith("store/") for name in entry.inputs)


def test_imported_packages_are_recorded_with_their_versions(repo: Path) -> None:
    store = Store(repo / "store", repo)
    entry, _ = _one(store, "python", "import numpy\nprint(numpy.ones(2).sum())")
    assert entry.packages["numpy"] == installed_version("numpy")
    entry.packages["numpy"] = "0.0.1"
    assert store.stale(entry) == f"numpy {installed_version('numpy')}, not 0.0.1"


def test_a_failing_block_stores_nothing(repo: Path) -> None:
    store = Store(repo / "store", repo)
    entry, outcome = _one(store, "python", "raise SystemExit('no')")
    assert outcome.returncode == 1 and "no" in outcome.stderr
    assert store.keys() == set()


def test_a_session_shares_globals_and_keys_each_block_by_what_ran_before(repo: Path) -> None:
    store = Store(repo / "store", repo)
    chain = [Block("p.md", 1, "python", "x = 20", "s"), Block("p.md", 5, "python", "print(x + 22)", "s")]
    (first, _), (second, outcome) = produce(store, chain)
    assert outcome.returncode == 0 and second.output == "42\n"
    assert second.key == block_key("python", ["x = 20", "print(x + 22)"]) != block_key("python", ["print(x + 22)"])
    assert store.keys() == {first.key, second.key}


def test_a_notebook_keeps_each_cells_output_and_figures(repo: Path) -> None:
    script = (
        "# %% [markdown]\n# # A plot\n\n# %%\nprint('hello')\n\n"
        "# %%\nimport matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.show()\n"
    )
    assert [kind for kind, _ in cells(script)] == ["markdown", "code", "code"]
    entry, outcome = _one(Store(repo / "store", repo), "notebook", script)
    assert outcome.returncode == 0, outcome.stderr
    first, second = outputs_of(entry.output)
    assert first["output"] == "hello\n" and first["figures"] == []
    assert len(second["figures"]) == 1 and second["figures"][0].startswith("<svg")
    notebook = json.loads(to_ipynb(script))
    assert [c["cell_type"] for c in notebook["cells"]] == ["markdown", "code", "code"]
    assert "".join(notebook["cells"][1]["source"]) == code_cells(script)[0]


def _render(text: str) -> str:
    md = markdown.Markdown(
        extensions=["pymdownx.superfences", "mlatlas.store.page"],
        extension_configs={
            "pymdownx.superfences": {
                "custom_fences": [
                    {
                        "name": "python", "class": "python",
                        "validator": markdown_exec.validator, "format": fence.formatter,
                    }
                ]
            }
        },
    )
    return md.convert(text)


def test_the_build_renders_from_the_store_and_runs_only_what_is_missing(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    page = '# Page\n\n```python exec="on" result="text"\nprint(open("data.txt").read())\n```\n'
    monkeypatch.setenv("MLATLAS_STORE_MODE", "render")
    assert "no current output in the store" in _render(page)  # nothing stored yet, and render mode runs nothing
    monkeypatch.setenv("MLATLAS_STORE_MODE", "run")
    first = _render(page)
    assert "forty-two" in first and 'class="mlatlas-ran"' in first and "Run this page: <code>pip install" in first
    (repo / "data.txt").write_text("changed\n", encoding="utf-8")
    monkeypatch.setenv("MLATLAS_STORE_MODE", "render")
    assert "no current output in the store (data.txt changed)" in _render(page)
    monkeypatch.setenv("MLATLAS_STORE_MODE", "run")
    assert "changed" in _render(page) and len(Store(repo / "store", repo).keys()) == 1  # same key, new entry


def test_the_install_line_names_exactly_the_extras_the_imports_need() -> None:
    assert needed({"numpy", "torch"}) == ([], [])  # the package's own dependencies
    assert needed({"trimesh", "pillow"}) == (["extrude"], [])
    assert needed({"matplotlib", "cycler"}) == (["plot"], [])
    assert needed({"gradio", "matplotlib", "trimesh"}) == (["app"], [])  # app brings plot and extrude
    extras, rest = needed({"boto3", "moto"})
    assert extras == ["cloud"] and rest == ["moto[s3]<6,>=5"]  # the stand-in only the docs extra names
    assert install_line({"trimesh"}, "git+https://example.org/mlatlas") == (
        'pip install "mlatlas[extrude] @ git+https://example.org/mlatlas"'
    )
    assert install_line({"trimesh"}) == 'pip install -e ".[extrude]"'


def test_a_pages_notebook_holds_its_blocks_in_order() -> None:
    notebook = json.loads(notebook_of([("python", "print(1)\n"), ("bash", "mlatlas --version")], "T", "pip install x"))
    sources = ["".join(c["source"]) for c in notebook["cells"]]
    assert sources[1:] == ["%pip install x", "print(1)", "%%bash\nmlatlas --version"]


def test_a_build_without_setup_stops_with_one_line(tmp_path: Path) -> None:
    fence.require_setup(["mkdocs", "serve"], cwd=Path.cwd())  # this checkout ran make setup
    with pytest.raises(SystemExit, match=r"docs/assets/vendor is missing .* run `make setup`"):
        fence.require_setup(["/usr/bin/zensical", "build"], cwd=tmp_path)
    fence.require_setup(["pytest"], cwd=tmp_path)  # not a build
