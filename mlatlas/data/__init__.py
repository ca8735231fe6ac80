"""Data files shipped inside the package, each row with its source.

Every table the atlas shows (model configurations, chip datasheets, paper lists)
lives in a YAML file in this folder. A file holds a list of rows (mappings); every
row names the primary document its figures come from in a ``source`` field, and
:func:`load_rows` refuses a file where one does not.
"""

from functools import cache
from importlib import resources
from typing import Any

import yaml

from mlatlas.errors import MlatlasError


@cache
def load_rows(name: str) -> tuple[dict[str, Any], ...]:
    """Load the rows of the data file ``mlatlas/data/<name>.yaml``.

    Args:
        name: The file's stem, for example ``"model_configs"``.

    Returns:
        The rows, in file order, as read-only-by-convention dictionaries.

    Raises:
        MlatlasError: If the file does not exist, is not a list of mappings, or a
            row lacks a non-empty ``source``.
    """
    path = resources.files(__package__) / f"{name}.yaml"
    if not path.is_file():
        raise MlatlasError(f"no data file named {name!r} in mlatlas/data")
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise MlatlasError(f"mlatlas/data/{name}.yaml must be a list of mappings")
    for i, row in enumerate(rows):
        if not str(row.get("source", "")).strip():
            raise MlatlasError(f"mlatlas/data/{name}.yaml row {i} has no source")
    return tuple(rows)
