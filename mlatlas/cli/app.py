"""``mlatlas app``: the labs as a local web app (Gradio), one tab per lab.

Gradio is an optional extra; without it the command says in one line how to
install it and exits 2. The app itself (:mod:`mlatlas.app`) is imported only when
the command runs.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys

from mlatlas.errors import MlatlasError

INSTALL = "pip install 'mlatlas[app]'"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``app`` to the command line."""
    parser = subparsers.add_parser(
        "app",
        help="the labs as a local web app (Gradio): probe, benchmark, distillation, extrusion",
        description=(
            "Serve one Gradio app with a tab per lab on this machine. It binds to loopback, sends no analytics, "
            "makes no share link and loads nothing from other hosts; uploads and results live in a temporary "
            "folder that is removed when it stops (Ctrl+C, or SIGTERM)."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host other machines can reach (0.0.0.0, a LAN address): the app has no authentication",
    )
    parser.add_argument("--port", type=_port, default=7860, help="TCP port (default: 7860)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Serve the app until interrupted."""
    try:
        from mlatlas.app.server import bind_address, is_loopback, serve
    except ImportError as error:
        if error.name is not None and error.name.split(".")[0] != "gradio":
            raise
        raise MlatlasError(f"the app needs Gradio, which is not installed: {INSTALL}") from None

    address = bind_address(args.host, args.port)
    if not is_loopback(address):
        if not args.allow_remote:
            raise MlatlasError(
                f"--host {args.host} ({address}) can be reached from other machines and the app has no "
                "authentication; add --allow-remote to serve it anyway"
            )
        print(
            f"mlatlas app: warning: serving on {address}, reachable from other machines; the app has no "
            "authentication: anyone who can reach this port can use it",
            file=sys.stderr, flush=True,
        )

    def announce(app) -> None:
        every = " (every interface)" if ipaddress.ip_address(app.address).is_unspecified else ""
        print(f"mlatlas app: serving on {app.url}{every} (press Ctrl+C to stop)", flush=True)
        print(f"uploads and results in {app.workdir}, removed when the app stops", flush=True)

    serve(args.host, args.port, announce)
    return 0


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be from 1 to 65535, got {text}")
    return value
