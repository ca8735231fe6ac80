"""The local app (`mlatlas app`): each tab calls the lab and shows its result or its
one-line error, the app serves only on loopback and sends the page nowhere else, and
its temporary folder is gone when it stops.

The tabs' functions are tested directly against the labs and the command line; the
whole app is served for real and driven in Debian Chromium with the same functions
that make the page's screenshots (``mlatlas.app.screenshots``).
"""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from conftest import ROOT, run_env
from mlatlas.app import bench, distill, extrude, probe
from mlatlas.app.privacy import POLICY
from mlatlas.app.screenshots import capture, download, open_app, run_distill, run_extrude
from mlatlas.app.server import LocalApp, free_port
from mlatlas.cli import main
from mlatlas.errors import MlatlasError
from mlatlas.labs.bench.sweep import parse_sizes

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CLASSES = ("billing", "refund", "delivery", "returns", "account", "technical")
"""The generated tickets' classes (``mlatlas.labs.distill.generate.CLASSES``, written out to check it)."""
EXTRUDE_DEFAULTS = dict(height=5.0, base=1.0, no_base=False, pixel_size=0.1, invert=False, gamma=1.0, smooth=0.0,
                        max_size=0, black_threshold=0.0, no_threshold=False, colors=False, simplify="full grid",
                        amount=None, depth_model="")  # fmt: skip
DISTILL_DEFAULTS = dict(labels="", seed=0, teacher_epochs=3, student_epochs=6, student_rows=200, temperature=4.0,
                        alpha=0.5)  # fmt: skip
"""A small run (seconds on a CPU) on 480 generated tickets, long enough that the two students differ."""
BROKEN_CSVS = {
    "fields.csv": b"text,label\nhello there,billing\nhello, again,refund\n",
    "header.csv": b"message,class\nhello,billing\n",
    "latin1.csv": "text,label\ncaf\u00e9 au lait,billing\n".encode("latin-1"),
    "quotes.csv": b'text,label\n"an unclosed quote,billing\n',
}
"""Files ``read_csv`` refuses, each for another rule."""


@pytest.fixture
def square(tmp_path: Path) -> Path:
    """A 12 x 12 PNG: a white 4 x 4 square on black."""
    pixels = np.zeros((12, 12), np.uint8)
    pixels[4:8, 4:8] = 255
    path = tmp_path / "square.png"
    Image.fromarray(pixels).save(path)
    return path


def load_student(archive: Path, folder: Path):
    """Unzip the Distillation tab's ``student.zip`` into ``folder``; reload tokenizer and model from it."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    with zipfile.ZipFile(archive) as zipped:
        names = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]
        assert sorted(zipped.namelist()) == [f"student/{name}" for name in names]
        zipped.extractall(folder)
    return AutoTokenizer.from_pretrained(folder / "student"), AutoModelForSequenceClassification.from_pretrained(
        folder / "student"
    ).eval()


def classify(tokenizer, model, texts: list[str]) -> list[int]:
    """The reloaded model's class index for each text."""
    import torch

    with torch.no_grad():
        return model(**tokenizer(texts, padding=True, truncation=True, return_tensors="pt")).logits.argmax(1).tolist()


def cli_error(capsys, *argv: str) -> str:
    """The one line ``mlatlas ARGV`` prints on stderr, after checking it exits 2."""
    assert main(list(argv)) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    return lines[0]


# --- the tabs' functions --------------------------------------------------------------


def test_probe_tab_shows_the_report_and_its_json(tmp_path: Path) -> None:
    findings, rows, path = probe.run(tmp_path, nvml=False)
    report = json.loads(Path(path).read_text())
    assert report["schema"] == "mlatlas.probe/1"
    assert Path(path).is_relative_to(tmp_path)
    table = {(section, field): value for section, field, value in rows}
    assert table[("cpu", "model")] == report["cpu"]["model"]
    assert table[("torch", "version")] == report["torch"]["version"]
    assert table[("cpu", "logical_cores")] == str(report["cpu"]["logical_cores"])
    assert all(sentence in findings for sentence in report["findings"])


def test_bench_tab_measures_what_was_asked(tmp_path: Path) -> None:
    status, rows, roofline, sweep, files = bench.measure(tmp_path, "quick", "cpu", ["fp32"], "32,64")
    assert "mlatlas bench --quick --devices cpu --dtypes fp32 --sizes 32,64" in status
    matmuls = [row for row in rows if row[1] == "matmul"]
    assert [(row[2], row[3]) for row in matmuls] == [("fp32", 32), ("fp32", 64)]
    assert {row[1] for row in rows} == {"copy", "triad", "matmul"}
    for png in (roofline, sweep):
        assert Path(png).read_bytes().startswith(PNG_SIGNATURE)
    report = json.loads(Path(files[0]).read_text())
    assert report["schema"] == "mlatlas.bench/1" and report["quick"] is True
    assert [r["size"] for r in report["results"] if r["kernel"] == "matmul"] == [32, 64]


def test_bench_tab_shows_the_same_error_as_the_command_line(tmp_path: Path) -> None:
    with pytest.raises(MlatlasError) as raised:
        parse_sizes("64,zero")
    status, rows, *_ = bench.measure(tmp_path, "quick", "cpu", ["fp32"], "64,zero")
    assert status == f"mlatlas: error: {raised.value}"
    assert rows == []
    status, *_ = bench.measure(tmp_path, "quick", "cpu", [], "64")
    assert status == "mlatlas: error: no dtypes given: name at least one, e.g. fp32"


def test_extrude_tab_writes_three_closed_meshes(tmp_path: Path, square: Path) -> None:
    options = {**EXTRUDE_DEFAULTS, "height": 2.0, "pixel_size": 0.5}
    status, viewer, files, rows = extrude.make(tmp_path / "app", str(square), **options)
    assert status.startswith("Built a closed relief")
    assert [Path(f).name for f in files] == ["square.glb", "square.obj", "square.stl"]
    assert viewer == files[0]
    for path in files:
        mesh = trimesh.load(path, force="mesh")
        assert mesh.is_watertight
        # plate 12 x 12 x 0.5^2 x 1, plus a 4 x 4 pixel block 2 tall: 36 + 8
        assert mesh.volume == pytest.approx(36 + 8, rel=1e-6)
    assert dict(rows)["faces"] == f"{len(trimesh.load(files[2], force='mesh').faces):,}"


def test_extrude_tab_shows_the_same_errors_as_the_command_line(tmp_path: Path, square: Path, capsys) -> None:
    broken = tmp_path / "broken.png"
    broken.write_text("not a picture")
    expected = cli_error(capsys, "extrude", str(broken), "-o", str(tmp_path / "out.glb"))
    status, viewer, files, rows = extrude.make(tmp_path, str(broken), **EXTRUDE_DEFAULTS)
    assert status == expected.replace(str(broken), "broken.png")
    assert (viewer, files, rows) == (None, [], [])
    status, *_ = extrude.make(tmp_path, str(square), **{**EXTRUDE_DEFAULTS, "gamma": -1.0})
    assert status == "mlatlas: error: gamma must be a positive number, got -1.0"
    status, *_ = extrude.make(tmp_path, None, **EXTRUDE_DEFAULTS)
    assert status.startswith("mlatlas: error: no image")
    status, *_ = extrude.make(tmp_path, str(square), **{**EXTRUDE_DEFAULTS, "simplify": "face budget", "amount": 2.5})
    assert status == "mlatlas: error: the face budget must be a positive whole number, got 2.5"


def test_distill_tab_runs_what_the_command_line_runs(tmp_path: Path, capsys) -> None:
    from mlatlas.labs.distill import read_csv, split

    workdir = tmp_path / "app"
    status, tickets = distill.generate_csv(workdir, 480, 0, 0.1)
    cli_csv = tmp_path / "tickets.csv"
    # The status names the command that writes the same file; run it and compare the bytes.
    command = shlex.split(status.split("`")[1])
    assert main([*command[1:-1], str(cli_csv)]) == 0
    assert Path(tickets).read_bytes() == cli_csv.read_bytes()
    assert status.startswith("480 tickets (billing ")
    capsys.readouterr()

    seen: list[tuple[float, str]] = []
    status, rows, curves, files = distill.make(
        workdir, tickets, **DISTILL_DEFAULTS, progress=lambda fraction, desc: seen.append((fraction, desc))
    )
    # The status names the same run on the command line: run it with --json and compare.
    command = shlex.split(status.split("`")[-2])
    assert command[:5] == ["mlatlas", "distill", "run", "--data", "tickets.csv"]
    assert main([*command[1:4], str(cli_csv), *command[5:], "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    assert [row[:2] for row in rows] == [[m["model"], m["parameters"]] for m in expected["models"]]
    assert [row[3:5] for row in rows] == [[f"{m['accuracy']:.3f}", f"{m['macro_f1']:.3f}"] for m in expected["models"]]
    assert status.startswith(f"tickets.csv: {expected['train_rows']} training rows (students: 200 labelled), ")
    assert Path(curves).read_bytes().startswith(PNG_SIGNATURE)
    assert [Path(f).name for f in files] == ["student.zip", "distill.json"]
    assert all(Path(f).is_relative_to(workdir) for f in [curves, *files])
    summary = json.loads(Path(files[1]).read_text())
    assert summary["history"] == expected["history"] and summary["source"] == "tickets.csv"

    fractions = [fraction for fraction, _ in seen]
    assert fractions[0] == 0 and fractions[-1] == 1 and fractions == sorted(fractions)
    labels = {desc for _, desc in seen}
    assert labels == {f"training the {m}" for m in ("teacher", "baseline student", "distilled student")}

    # The zip holds the distilled student: reloaded, it scores the command line's distilled accuracy.
    tokenizer, model = load_student(Path(files[0]), tmp_path / "unzipped")
    _, test = split(read_csv(cli_csv), test_fraction=0.2, seed=0)
    predicted = classify(tokenizer, model, test.texts)
    accuracy = sum(p == y for p, y in zip(predicted, test.labels, strict=True)) / len(test)
    assert accuracy == pytest.approx(expected["models"][2]["accuracy"], abs=1e-12)
    assert [model.config.id2label[i] for i in range(6)] == expected["classes"]


def test_distill_tab_shows_the_same_errors_as_the_command_line(tmp_path: Path, capsys) -> None:
    from mlatlas.labs.distill import DistillConfig

    outputs = ([], None, [])
    for name, content in BROKEN_CSVS.items():
        path = tmp_path / name
        path.write_bytes(content)
        expected = cli_error(capsys, "distill", "run", "--data", str(path))
        status, *rest = distill.make(tmp_path / "app", str(path), **DISTILL_DEFAULTS)
        assert status == expected.replace(str(path), name), name
        assert tuple(rest) == outputs
    good = tmp_path / "good.csv"
    status, tickets = distill.generate_csv(tmp_path / "app", 240, 0, 0.1)
    good.write_bytes(Path(tickets).read_bytes())
    expected = cli_error(capsys, "distill", "run", "--data", str(good), "--labels", "billing,refund")
    status, *_ = distill.make(tmp_path / "app", str(good), **{**DISTILL_DEFAULTS, "labels": "billing,refund"})
    assert status == expected.replace(str(good), "good.csv")
    expected = cli_error(capsys, "distill", "generate", "--rows", "50", "--out", str(tmp_path / "few.csv"))
    assert distill.generate_csv(tmp_path / "app", 50, 0, 0.1) == (expected, None)
    for option, value in (("temperature", 0.0), ("alpha", 1.5), ("teacher_epochs", 0)):
        with pytest.raises(MlatlasError) as raised:
            DistillConfig(**{option: value}).check()
        status, *rest = distill.make(tmp_path / "app", str(good), **{**DISTILL_DEFAULTS, option: value})
        assert status == f"mlatlas: error: {raised.value}"
        assert tuple(rest) == outputs
    status, *_ = distill.make(tmp_path / "app", str(good), **{**DISTILL_DEFAULTS, "seed": -1})
    assert status == "mlatlas: error: seed must be a whole number, 0 or more, got -1"
    status, *_ = distill.make(tmp_path / "app", None, **DISTILL_DEFAULTS)
    assert status.startswith("mlatlas: error: no dataset: upload a CSV file")


def test_without_the_distill_extra_the_tab_says_how_to_install_it(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # `import transformers` now raises ImportError
    for name in [m for m in sys.modules if m.startswith("mlatlas.labs.distill")]:
        monkeypatch.delitem(sys.modules, name)
    expected = cli_error(capsys, "distill", "run", "--generate", "240")
    assert expected == "mlatlas: error: distill needs its extra dependencies (transformers is missing): " + (
        "pip install 'mlatlas[distill]'"
    )
    assert distill.generate_csv(tmp_path, 240, 0, 0.1) == (expected, None)
    assert distill.make(tmp_path, None, **DISTILL_DEFAULTS)[0] == expected
    assert distill.template(tmp_path) is None


# --- the command ----------------------------------------------------------------------


def test_without_gradio_the_command_says_how_to_install_it(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "gradio", None)  # `import gradio` now raises ImportError
    for name in [m for m in sys.modules if m.startswith("mlatlas.app")]:
        monkeypatch.delitem(sys.modules, name)
    line = cli_error(capsys, "app", "--port", str(free_port()))
    assert line == "mlatlas: error: the app needs Gradio, which is not installed: pip install 'mlatlas[app]'"


def test_a_bad_port_is_one_line(capsys) -> None:
    assert "must be from 1 to 65535, got 70000" in cli_error(capsys, "app", "--port", "70000")


def test_a_taken_port_is_an_error_and_leaves_no_folder() -> None:
    with LocalApp(port=free_port()) as first:
        second = LocalApp(port=first.port)
        with pytest.raises(MlatlasError, match=f"cannot serve on 127.0.0.1:{first.port}"):
            second.start()
        assert not second.workdir.exists()


def test_the_command_serves_on_loopback_and_cleans_up_on_ctrl_c() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mlatlas", "app", "--port", str(port)],
        cwd=ROOT, env=run_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        first, second = process.stdout.readline(), process.stdout.readline()
        assert first == f"mlatlas app: serving on http://127.0.0.1:{port}/ (press Ctrl+C to stop)\n", first
        workdir = Path(second.split(" in ", 1)[1].split(",")[0])
        assert workdir.is_dir()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
            assert response.status == 200
            assert response.headers["Content-Security-Policy"] == POLICY
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, process.stderr.read()
        assert not workdir.exists()
    finally:
        if process.poll() is None:
            process.kill()


# --- the app in a browser -------------------------------------------------------------


@pytest.mark.browser
def test_the_screenshots_come_from_a_clean_run(browser, tmp_path: Path) -> None:
    """The page's capture: every tab used, a watertight GLB, nothing but local requests."""
    result = capture(tmp_path, browser)
    assert sorted(result.screenshots) == ["Benchmark", "Distillation", "Extrusion", "Probe"]
    for png in result.screenshots.values():
        assert png.read_bytes().startswith(PNG_SIGNATURE)
        assert Image.open(png).size[0] == 1280
    mesh = trimesh.load(result.glb, force="mesh")
    assert mesh.is_watertight and mesh.volume > 0
    tokenizer, model = load_student(result.student, tmp_path / "student")
    assert model.config.id2label[classify(tokenizer, model, ["my package has not arrived"])[0]] in CLASSES
    assert result.recorder.problems == []
    local = [url for url in result.recorder.requests if url.removeprefix("blob:").startswith(result.url)]
    assert len(local) > 20 and local == [url for url in result.recorder.requests if not url.startswith("data:")]
    assert not result.workdir.exists()


@pytest.mark.browser
def test_bad_uploads_and_options_show_the_message_and_the_app_goes_on(browser, tmp_path: Path, square, capsys):
    broken = tmp_path / "broken.png"
    broken.write_text("not a picture")
    expected = cli_error(capsys, "extrude", str(broken), "-o", str(tmp_path / "out.glb"))
    with LocalApp(port=free_port()) as app, open_app(browser, app.url) as (page, recorder):
        assert run_extrude(page, broken, colors=False, max_error=None) == expected.replace(str(broken), "broken.png")
        page.locator("#extrude-height input").fill("-1")
        assert run_extrude(page, square, colors=False, max_error=None) == (
            "mlatlas: error: height must be from 1e-06 to 1e+06 model units (so float32 coordinates stay finite"
            " and distinct), got -1"
        )
        page.locator("#extrude-height input").fill("2")
        assert run_extrude(page, square, colors=False, max_error=None).startswith("Built a closed relief")
        blocked = page.evaluate(
            """() => new Promise(resolve => {
                 document.addEventListener("securitypolicyviolation", e => resolve(e.blockedURI), { once: true });
                 fetch("http://192.0.2.1/elsewhere").catch(() => {});
               })"""
        )
        assert blocked.startswith("http://192.0.2.1")
        problems = [p for p in recorder.problems if "192.0.2.1" not in p]
        assert problems == []
    assert not app.workdir.exists()


@pytest.mark.browser
def test_the_distillation_tab_refuses_a_bad_csv_and_offers_the_student(browser, tmp_path: Path, capsys) -> None:
    broken = tmp_path / "fields.csv"
    broken.write_bytes(BROKEN_CSVS["fields.csv"])
    expected = cli_error(capsys, "distill", "run", "--data", str(broken))
    template = tmp_path / "cli-template.csv"
    assert main(["distill", "template", "--out", str(template)]) == 0
    with LocalApp(port=free_port()) as app, open_app(browser, app.url) as (page, recorder):
        assert run_distill(page, broken) == expected.replace(str(broken), "fields.csv")
        with page.expect_download() as info:
            page.locator("#distill-template").click()
        assert Path(info.value.path()).read_bytes() == template.read_bytes()
        # A small run: 240 generated tickets (48 held out), one epoch each.
        status = run_distill(page, rows=240, teacher_epochs=1, student_epochs=1)
        assert status.startswith("tickets.csv: 192 training rows (students: 192 labelled), 48 held out"), status
        text = page.locator("#distill-table").inner_text().split("latency", 1)[1]
        cells = [line.strip() for line in text.splitlines() if line.strip()]
        assert cells[::7] == ["teacher", "baseline student", "distilled student"]  # seven columns a row
        student = download(page, "#distill-files", "student.zip", tmp_path)
        tokenizer, model = load_student(student, tmp_path / "unzipped")
        assert model.config.id2label[classify(tokenizer, model, ["i want my money back"])[0]] in CLASSES
        assert recorder.problems == []
        local = [url for url in recorder.requests if url.removeprefix("blob:").startswith(app.url)]
        assert local == [url for url in recorder.requests if not url.startswith("data:")]
    assert not app.workdir.exists()


# --- which addresses the command serves on ---


def _app(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlatlas", "app", *args], capture_output=True, text=True, cwd=ROOT, env=run_env(),
        timeout=30,
    )


def test_an_address_other_machines_reach_needs_allow_remote():
    result = _app("--host", "0.0.0.0", "--port", str(free_port()))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("mlatlas: error: --host 0.0.0.0 (0.0.0.0) can be reached from other machines")
    assert "--allow-remote" in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_host_that_does_not_resolve_is_refused_at_once():
    start = time.monotonic()
    result = _app("--host", "nosuch.invalid")
    assert result.returncode == 2 and time.monotonic() - start < 10
    assert result.stderr.startswith("mlatlas: error: cannot serve on nosuch.invalid: the name does not resolve")


def test_allow_remote_warns_and_prints_the_address_really_bound():
    port = str(free_port("0.0.0.0"))
    process = subprocess.Popen(
        [sys.executable, "-m", "mlatlas", "app", "--host", "0.0.0.0", "--allow-remote", "--port", port],
        cwd=ROOT, env=run_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout.readline().startswith(f"mlatlas app: serving on http://0.0.0.0:{port}/ (every interface)")
        warning = process.stderr.readline()
        assert warning.startswith("mlatlas app: warning: serving on 0.0.0.0") and "no authentication" in warning
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


# --- what the app refuses, and how it serves what users upload (issue 17) ---


def _request(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, object, bytes]:
    method = "POST" if data is not None else "GET"
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def _multipart(name: str, content: bytes) -> tuple[bytes, str]:
    boundary = "mlatlas-test-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_the_app_refuses_framing_sniffing_foreign_origins_and_huge_uploads():
    from mlatlas.app.privacy import MAX_UPLOAD_BYTES

    with LocalApp(port=free_port()) as app:
        status, headers, _ = _request(app.url)
        assert status == 200 and headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff" and "frame-ancestors 'none'" in POLICY
        page = b"<html><script>alert(document.domain)</script></html>"
        body, kind = _multipart("evil.html", page)
        upload = f"{app.url}gradio_api/upload"
        status, _, text = _request(upload, body, {"Content-Type": kind, "Origin": "http://evil.test"})
        assert status == 403 and b"cross-origin request refused" in text
        status, _, text = _request(upload, body, {"Content-Type": kind, "Content-Length": str(MAX_UPLOAD_BYTES + 1)})
        assert status == 413
        # the same upload from the app's own page is accepted, and served back only as a sandboxed download
        status, _, text = _request(upload, body, {"Content-Type": kind, "Origin": app.url.rstrip("/")})
        assert status == 200, text
        (path,) = json.loads(text)
        status, headers, served = _request(f"{app.url}gradio_api/file={path}")
        assert status == 200 and served == page
        assert headers["Content-Disposition"] == "attachment"
        assert "sandbox" in headers.get_all("Content-Security-Policy")
