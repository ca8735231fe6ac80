"""Shared paths and environment for the test suite."""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from mlatlas.store import Block, Entry, Outcome, Store, chains, keys_of, produce

ROOT = Path(__file__).resolve().parent.parent
"""The repository root: pages, snippets and mkdocs.yml are resolved from here."""


def run_env() -> dict[str, str]:
    """The environment a reader's shell would have after ``make setup`` (the blocks' own)."""
    from mlatlas.store import block_env

    return block_env()


# --- every executed block of the site, run once into a fresh execution store ---

ALONE_PAGES = {"hardware/bench.md", "hardware/probe.md", "hardware/kernel.md", "engineering/async.md", "labs/app.md"}
"""Pages whose blocks run alone, after the others: they print measured speeds, or drive
a browser against a server under timeouts."""


@dataclass
class Executed:
    """Every block of the site, run once by :func:`executed`.

    Attributes:
        store: The fresh store the outcomes went into; the test build renders from it.
        outcomes: Each block's entry and outcome, by block id (``page.md:line``).
        stale: The blocks whose committed entry (in ``store/``) did not hold before the
            run, by block id, with the reason.
        unused: Keys in ``store/`` that no block of the site has any more.
    """

    store: Store
    outcomes: dict[str, tuple[Entry, Outcome]]
    stale: dict[str, str]
    unused: set[str]


REUSE = os.environ.get("MLATLAS_REUSE_STORE") == "1"
"""``make test-fast``: take the blocks whose committed entry is current from ``store/``
and run only the others, straight into ``store/`` (the inner loop; ``make test`` runs all)."""


@pytest.fixture(scope="session")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Executed:
    """Every executed block of the site, run once per test session (:func:`_execute`).

    Under pytest-xdist (``make test`` and ``make test-fast`` run on every core), the
    first worker that needs it runs the blocks and shares the results through a file;
    a worker that needs them meanwhile waits for that file under a lock, instead of
    running every block a second time.
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return _execute(tmp_path_factory)
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent / "executed.json"
    with FileLock(f"{shared}.lock"):
        if shared.is_file():
            return _load(shared)
        result = _execute(tmp_path_factory)
        shared.write_text(_dump(result), encoding="utf-8")
        return result


def _dump(result: Executed) -> str:
    outcomes = {
        i: [asdict(entry), {**asdict(outcome), "read": sorted(outcome.read), "modules": sorted(outcome.modules)}]
        for i, (entry, outcome) in result.outcomes.items()
    }
    return json.dumps({"store": str(result.store.folder), "outcomes": outcomes, "stale": result.stale,
                       "unused": sorted(result.unused)})  # fmt: skip


def _load(path: Path) -> Executed:
    data = json.loads(path.read_text(encoding="utf-8"))
    outcomes = {
        i: (Entry(**entry), Outcome(**{**outcome, "read": set(outcome["read"]), "modules": set(outcome["modules"])}))
        for i, (entry, outcome) in data["outcomes"].items()
    }
    return Executed(Store(Path(data["store"]), ROOT), outcomes, data["stale"], set(data["unused"]))


def _execute(tmp_path_factory: pytest.TempPathFactory) -> Executed:
    """Run every executed block of the site once, as a reader would, into a fresh store.

    Independent blocks run side by side, one per core; the blocks of
    :data:`ALONE_PAGES` run one at a time at the end. The committed store is checked
    against the checkout first, so a stale entry is reported even though this run
    does not use it. Under :data:`REUSE`, only the blocks without a current committed
    entry run, and into ``store/``.
    """
    from pages import EXECUTED, all_blocks, shows_the_suite

    blocks = [b.for_store() for b in all_blocks() if b.lang in EXECUTED and not shows_the_suite(b)]
    groups = chains(blocks)
    committed = Store(ROOT / "store", ROOT)
    stale, current = {}, {}
    for chain in groups:
        for block, key in zip(chain, keys_of(chain), strict=True):
            entry = committed.get(key)
            reason = "no committed output" if entry is None else committed.stale(entry)
            if reason:
                stale[f"{block.page}:{block.line}"] = reason
            else:
                current[f"{block.page}:{block.line}"] = entry
    used = {key for chain in groups for key in keys_of(chain)}
    target = committed if REUSE else Store(tmp_path_factory.mktemp("store"), ROOT)
    outcomes = {}

    def run(chain: list[Block]) -> None:
        ids = [f"{block.page}:{block.line}" for block in chain]
        if REUSE and all(i in current for i in ids):
            for i in ids:
                outcomes[i] = current[i], Outcome(current[i].output, "", 0, current[i].seconds)
            return
        for i, result in zip(ids, produce(target, chain), strict=False):
            outcomes[i] = result

    together = [c for c in groups if c[0].page not in ALONE_PAGES]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        list(pool.map(run, together))
    for chain in groups:
        if chain[0].page in ALONE_PAGES:
            run(chain)
    if REUSE:  # store/ now holds what ran; what failed fails test_block_runs
        for key in committed.keys() - used:
            committed.remove(key)
        return Executed(committed, outcomes, {}, set())
    return Executed(target, outcomes, stale, committed.keys() - used)


@pytest.fixture(scope="session")
def dists(tmp_path_factory: pytest.TempPathFactory):
    """One build of the checkout's wheel and sdist per test session, from a copy, into a temporary folder."""
    from mlatlas import packaging

    work = tmp_path_factory.mktemp("packaging")
    return packaging.build(packaging.copy_project(ROOT, work / "src"), work / "dist")


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT


# --- the built site, served and opened in a browser (shared by every browser test) ---


SITE_FIXTURES = {"site", "server", "zensical_site", "zensical_server"}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the built site ``site``, so ``make test-fast`` can leave them out.

    The tests that need the blocks' outputs or the built site are also put in one
    ``xdist_group``, asking ``--dist loadgroup`` to keep them on one worker (so the site
    is built once per generator). pytest-xdist 3.8 spread them over both workers here
    all the same; :func:`executed`'s lock is what keeps every block to one run.
    """
    for item in items:
        needs = set(getattr(item, "fixturenames", ()))
        if needs & SITE_FIXTURES:
            item.add_marker(pytest.mark.site)
        if needs & (SITE_FIXTURES | {"executed"}):
            item.add_marker(pytest.mark.xdist_group("blocks"))


GENERATORS = ("mkdocs", "zensical")
"""The two generators that build the site from the same ``mkdocs.yml``."""


def _serve(folder: Path, generator: str, store: Path) -> Iterator[str]:
    """Build the site into ``folder`` with ``generator`` and serve it on a free loopback port; yield its URL.

    The port is taken first and the site is built for that address
    (``MLATLAS_SITE_URL``): Material navigates instantly only to the URLs of its
    ``sitemap.xml``, so a site built for another address would reload every page.
    """
    from browsing import QuietHandler, build_site

    if not (ROOT / "docs/assets/vendor/.stamp").exists():
        pytest.fail("docs/assets/vendor is missing: run `make test`, which copies the npm assets")
    handler = functools.partial(QuietHandler, directory=str(folder))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    result = build_site(folder, site_url=url, store=store, generator=generator)
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"{generator} build --strict failed:\n{log[-4000:]}"
    # Zensical may report an error and still exit 0, and it logs a failed block without failing
    failed = [line for line in log.splitlines() if "block failed" in line or line.startswith("Error:")]
    assert failed == [], "\n".join(failed)
    assert (folder / "index.html").is_file(), f"{generator} wrote no site:\n{log[-2000:]}"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield url
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the test session's MkDocs build of the site goes."""
    return tmp_path_factory.mktemp("site")


@pytest.fixture(scope="session")
def server(site_dir: Path, executed: Executed) -> Iterator[str]:
    """The site built by MkDocs (``--strict``) from this run's outputs and served; its URL.

    The build renders every block from :func:`executed`'s store and executes
    nothing: a block it finds no output for fails the build.
    """
    yield from _serve(site_dir, "mkdocs", executed.store.folder)


@pytest.fixture(scope="session")
def site(server: str, site_dir: Path) -> Path:
    """The MkDocs build's folder (built by the ``server`` fixture)."""
    return site_dir


@pytest.fixture(scope="session")
def zensical_site() -> Iterator[Path]:
    """Where the test session's Zensical build of the site goes (Zensical writes only inside the project)."""
    parent = ROOT / "site-zensical"  # git-ignored
    parent.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="test-", dir=parent))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def zensical_server(zensical_site: Path, executed: Executed) -> Iterator[str]:
    """The same site built by Zensical (``--strict``) from the same outputs and served; its URL."""
    yield from _serve(zensical_site, "zensical", executed.store.folder)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium driven by Playwright (never a downloaded browser).

    One per test module: Playwright's sync API keeps an asyncio loop running while it
    is open, and ``asyncio.run`` in a later module (the async lab) would refuse to start.
    """
    from mlatlas.agents import launch

    with launch() as chromium:
        yield chromium


@pytest.fixture
def one_thread():
    """Train on one thread, as the distillation lab does: small models are fastest so on a busy machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
