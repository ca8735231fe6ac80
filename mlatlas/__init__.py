"""mlatlas: an ML engineer's knowledge atlas, backed by tested code.

Each concept page of the atlas has a module here (``mlatlas.attention``, ...), and
each lab a subpackage with a command-line front end (``mlatlas --help``).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]


def __getattr__(name: str):
    """``mlatlas.extrude`` is :func:`mlatlas.labs.extrude.extrude`, imported on first use."""
    if name == "extrude":
        from mlatlas.labs.extrude import extrude

        return extrude
    raise AttributeError(f"module 'mlatlas' has no attribute {name!r}")
