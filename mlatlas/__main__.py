"""Run the command-line interface: ``python -m mlatlas``."""

from mlatlas.cli import main

raise SystemExit(main())
