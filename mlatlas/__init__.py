"""mlatlas: an ML engineer's knowledge atlas, backed by tested code.

Each concept page of the atlas has a module here (``mlatlas.attention``, ...), and
each lab a subpackage with a command-line front end (``mlatlas --help``).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
