"""The one error type a user ever sees.

Library code raises :class:`MlatlasError` for bad input (an unknown model name, a
negative sequence length, a malformed file). The command line catches it and prints
it as a single line on stderr with exit status 2; it never shows a traceback.
"""

EXIT_USAGE = 2
"""Exit status for bad input, the same that ``argparse`` uses for bad arguments."""


class MlatlasError(ValueError):
    """Bad input, explained in one line meant for the person who gave it.

    It subclasses :class:`ValueError` so that library callers who already catch
    ``ValueError`` keep working.

    Example:
        >>> raise MlatlasError("sequence length must be positive, got -1")
        Traceback (most recent call last):
        ...
        mlatlas.errors.MlatlasError: sequence length must be positive, got -1
    """
