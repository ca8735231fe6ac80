"""The tabs assembled into one Gradio app, served privately from a temporary folder.

:func:`build_blocks` puts one tab per lab module of :data:`TABS` into a
``gr.Blocks``; a lab's tab is a module with a ``TITLE`` and a ``build(workdir)``
function, so adding a lab to the app is adding its module to :data:`TABS`.

:class:`LocalApp` serves it: it makes the temporary folder, points Gradio's upload
cache there (``GRADIO_TEMP_DIR``, read when the app is built and launched), launches
on loopback with no share link, no analytics, no run history and a theme of system
fonts, and on :meth:`~LocalApp.stop` closes the server and removes the folder with
everything uploaded or made. ``mlatlas app`` is :func:`serve`.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import gradio as gr
from starlette.middleware import Middleware

from mlatlas.app import bench, distill, extrude, probe
from mlatlas.app.common import SYSTEM_FONTS, SYSTEM_MONO_FONTS
from mlatlas.app.privacy import HEAD, MAX_UPLOAD_BYTES, AppGuard
from mlatlas.errors import MlatlasError

TABS: tuple[ModuleType, ...] = (probe, bench, distill, extrude)
"""The tab modules, in the order the tabs appear."""
DEFAULT_HOST = "127.0.0.1"
"""Loopback: only this machine can reach the app."""
DEFAULT_PORT = 7860
"""Gradio's usual port."""
TITLE = "mlatlas labs"


def bind_address(host: str, port: int) -> str:
    """The address ``host`` binds to, checked before anything starts.

    Raises:
        MlatlasError: At once, when the name does not resolve or the address is not
            one of this machine's (instead of Gradio's search for a free port).

    Example:
        >>> bind_address("localhost", 0) in {"127.0.0.1", "::1"}
        True
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise MlatlasError(f"cannot serve on {host}: the name does not resolve ({reason})") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address[0], 0))
        except OSError as error:
            raise MlatlasError(f"cannot serve on {host} ({address[0]}): {error.strerror}") from None
    return address[0]


def is_loopback(address: str) -> bool:
    """Whether only this machine can reach ``address`` (``127.0.0.0/8``, ``::1``).

    Example:
        >>> is_loopback("127.0.0.1"), is_loopback("0.0.0.0")
        (True, False)
    """
    return ipaddress.ip_address(address).is_loopback


def theme() -> gr.themes.Base:
    """Gradio's default look with system fonts, so no font file is requested anywhere."""
    return gr.themes.Default(font=list(SYSTEM_FONTS), font_mono=list(SYSTEM_MONO_FONTS))


def build_blocks(workdir: Path) -> gr.Blocks:
    """The app: a heading and one tab per module of :data:`TABS`, writing into ``workdir``."""
    with gr.Blocks(title=TITLE, analytics_enabled=False) as blocks:
        gr.Markdown(
            f"# {TITLE}\nThe labs of the atlas, run on this machine. Uploads and results stay in a "
            "temporary folder that is removed when the app stops."
        )
        with gr.Tabs():
            for tab in TABS:
                tab.build(workdir)
    return blocks


class LocalApp:
    """The app served from a temporary folder; a context manager.

    Only one should run per process at a time: Gradio reads its upload folder from
    the environment.

    Args:
        host: Address to bind; loopback by default. ``0.0.0.0`` serves every
            interface (inside a container).
        port: TCP port.

    Example:
        >>> with LocalApp(port=free_port()) as app:          # doctest: +SKIP
        ...     urllib.request.urlopen(app.url).status
        200
    """

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.host, self.port = host, port
        self.address: str | None = None
        self.workdir: Path | None = None
        self.url: str | None = None
        self._blocks: gr.Blocks | None = None
        self._saved_temp: str | None = None

    def start(self) -> str:
        """Make the folder, build the app and serve it in background threads.

        Returns:
            The app's address, such as ``http://127.0.0.1:7860/``.

        Raises:
            MlatlasError: The port is taken or the address cannot be bound.
        """
        self.address = bind_address(self.host, self.port)
        self.workdir = Path(tempfile.mkdtemp(prefix="mlatlas-app-"))
        self._saved_temp = os.environ.get("GRADIO_TEMP_DIR")
        os.environ["GRADIO_TEMP_DIR"] = str(self.workdir / "gradio")
        try:
            self._blocks = build_blocks(self.workdir)
            self._blocks.launch(
                server_name=self.host,
                server_port=self.port,
                share=False,
                prevent_thread_lock=True,
                quiet=True,
                show_error=False,
                ssr_mode=False,
                pwa=False,
                mcp_server=False,
                enable_monitoring=False,
                run_history=False,
                footer_links=["settings"],
                allowed_paths=[str(self.workdir)],
                theme=theme(),
                head=HEAD,
                max_file_size=MAX_UPLOAD_BYTES,
                app_kwargs={"middleware": [Middleware(AppGuard)]},
            )
        except OSError as error:
            self.stop()
            raise MlatlasError(f"cannot serve on {self.host}:{self.port}: {error}") from None
        except BaseException:
            self.stop()
            raise
        shown = f"[{self.address}]" if ":" in self.address else self.address
        self.url = f"http://{shown}:{self.port}/"
        return self.url

    def stop(self) -> None:
        """Close the server and remove the temporary folder with every upload and result."""
        if self._blocks is not None:
            self._blocks.close(verbose=False)
            self._blocks = None
        if self._saved_temp is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = self._saved_temp
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LocalApp:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, announce: Callable[[LocalApp], None] = print) -> None:
    """Serve the app until Ctrl+C or SIGTERM (what ``docker stop`` sends), then clean up.

    Args:
        host: Address to bind.
        port: TCP port.
        announce: Called with the started app (prints its address by default).
    """
    stopped = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stopped.set())
    try:
        with LocalApp(host, port) as app:
            announce(app)
            try:
                while not stopped.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port that was free on ``host`` a moment ago (for tests and screenshots)."""
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
