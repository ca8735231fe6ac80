"""The execution store: every executed block of the site, run once and kept by its inputs.

A page's ``python`` and ``bash`` blocks are executed when the site is built, so the
output a reader sees is what the code printed. Running every block on every build
made the build slow and the test suite run each block twice. The store keeps each
block's output under a key (a hash of the block's code) together with everything it
ran from: the repository files its processes read, recorded as they ran
(:mod:`mlatlas.store.execute`), and the versions of the packages it imported
(:mod:`mlatlas.store.entry`). The build renders from the store and runs only blocks
whose entry is missing or stale (:mod:`mlatlas.store.fence`).

The store is committed (``store/``), like Quarto's ``_freeze/``: a fresh clone and the
Pages job render the site without executing anything, and ``make test`` runs every
block once, builds the site from those outputs, and fails if a committed entry was
stale, so what is published is what the current code printed.
"""

from mlatlas.store.entry import Entry, Store, block_key
from mlatlas.store.execute import Outcome, block_env
from mlatlas.store.produce import Block, chains, keys_of, produce

__all__ = ["Block", "Entry", "Outcome", "Store", "block_env", "block_key", "chains", "keys_of", "produce"]
