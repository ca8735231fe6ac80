"""Notebook pages: a jupytext script rendered as a page, run through the store.

A notebook of the atlas is a ``py:percent`` script in ``snippets/notebooks/``
(jupytext's format: ``# %%`` starts a code cell, ``# %% [markdown]`` a text cell), so
it diffs like code and runs as a plain script. A page includes it in a ``notebook``
fence::

    ```notebook download="attention-maps.ipynb"
    --8<-- "snippets/notebooks/attention_maps.py"
    ```

The fence runs the code cells in one process, as Jupyter would, keeping what each
printed and the matplotlib figures it drew, and stores that under the script's key
like any block (:mod:`mlatlas.store.fence`). The page shows the text cells as
Markdown, each code cell with its output and figures under it, and a link that
downloads the script as an ``.ipynb``. Both generators render it the same way:
nothing here depends on a plugin (MkDocs's mkdocs-jupyter, which Zensical skips).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import jupytext
from markupsafe import Markup

NOTEBOOK_FORMAT = "py:percent"


def cells(script: str) -> list[tuple[str, str]]:
    """The cells of a jupytext script, in order, as ``(kind, source)``; kind is ``code`` or ``markdown``.

    Example:
        >>> cells("# %% [markdown]\\n# # Title\\n\\n# %%\\nprint(1)\\n")
        [('markdown', '# Title'), ('code', 'print(1)')]
    """
    notebook = jupytext.reads(script, fmt=NOTEBOOK_FORMAT)
    return [(cell.cell_type, cell.source) for cell in notebook.cells if cell.source.strip()]


def code_cells(script: str) -> list[str]:
    """The code cells of a jupytext script, the code the store runs."""
    return [source for kind, source in cells(script) if kind == "code"]


def to_ipynb(script: str) -> str:
    """The script as an ``.ipynb`` document (no outputs: the reader runs it)."""
    notebook = jupytext.reads(script, fmt=NOTEBOOK_FORMAT)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata.pop("jupytext", None)
    return jupytext.writes(notebook, fmt="ipynb")


def download_link(script: str, filename: str, label: str = "Download this notebook") -> Markup:
    """A link that saves the script as ``filename`` (an ``.ipynb``), carried in the page itself.

    The notebook travels as a ``data:`` URI, so the link works on any host and under
    either generator, and opening the page requests nothing more.
    """
    data = base64.b64encode(to_ipynb(script).encode()).decode()
    href = f"data:application/x-ipynb+json;base64,{data}"
    return Markup('<a class="md-button mlatlas-download" download="{}" href="{}">{}</a>').format(filename, href, label)


def page_markdown(script: str, outputs: list[dict[str, Any]], header: str = "") -> str:
    """The notebook as Markdown: text cells as they are, code cells with their outputs and figures.

    Args:
        script: The jupytext script.
        outputs: One ``{"output", "figures", "seconds"}`` per code cell, in order (the
            store's entry for the script).
        header: HTML placed after the first text cell (its title and introduction).
    """
    parts, results = [], iter(outputs)
    for number, (kind, source) in enumerate(cells(script)):
        if kind == "markdown":
            parts += [source, header] if number == 0 and header else [source]
            continue
        parts.append(f"```python\n{source}\n```")
        result = next(results)
        if result["output"].strip():
            parts.append(f"```text\n{result['output'].rstrip()}\n```")
        parts += [f'<figure class="mlatlas-figure" markdown="0">{svg}</figure>' for svg in result["figures"]]
    return "\n\n".join(parts) + "\n"


def validator(language: str, inputs: dict, options: dict, attrs: dict, md: Any) -> bool:
    """Accept a ``notebook`` fence; its one option, ``download``, names the ``.ipynb``."""
    options["download"] = inputs.pop("download", "notebook.ipynb")
    return not inputs


def outputs_of(entry_output: str) -> list[dict[str, Any]]:
    """A notebook entry's stored output, read back as one dict per code cell."""
    return json.loads(entry_output)
