"""Export-control arithmetic and classification against the chips the rules aimed at."""

import subprocess
import sys

import pytest

from mlatlas.errors import MlatlasError
from mlatlas.export_controls import chip, classify, make_chip, rules, tpp


def _status(name: str, rule_id: str) -> str:
    rule = next(r for r in rules() if r.id == rule_id)
    return classify(chip(name), rule).status


def test_tpp_matches_the_rules_worked_example():
    """88 FR 73458: 4800 = 600 tera integer ops (2 x 300 MacTOPS) at 8 bits = 300 TFLOPS at 16 bits."""
    assert tpp(2 * 300, 8) == 4800
    assert tpp(2 * 150, 16) == 4800
    assert make_chip(300, 16, die_area_mm2=800).density == pytest.approx(6.0)


def test_rules_carry_federal_register_citations():
    by_id = {r.id: r for r in rules()}
    assert by_id["2022-10"].citation == "87 FR 62186" and by_id["2022-10"].published == "2022-10-13"
    assert by_id["2023-10"].citation == "88 FR 73458" and by_id["2023-10"].effective == "2023-11-17"
    assert all(r.source.startswith("https://") for r in rules())


@pytest.mark.parametrize("name", ["A100 SXM4", "H100 SXM5"])
def test_a100_and_h100_caught_by_2022_and_2023(name):
    assert _status(name, "2022-10") == "3A090"
    assert _status(name, "2023-10") == "3A090.a"


@pytest.mark.parametrize("name", ["A800", "H800"])
def test_a800_h800_below_2022_interconnect_but_caught_in_2023(name):
    c = chip(name)
    assert c.tpp >= 4800 and c.interconnect_gbps < 600
    assert _status(name, "2022-10") == "not controlled"
    assert _status(name, "2023-10") == "3A090.a"


def test_h20_below_the_2023_thresholds():
    c = chip("H20")
    assert c.tpp < 2400 and c.density < 3.2
    assert _status("H20", "2023-10") == "not controlled"


def test_rtx_4090_caught_in_2023_and_4090d_below_4800():
    assert chip("RTX 4090").tpp == pytest.approx(660.6 * 8)
    assert _status("RTX 4090", "2022-10") == "not controlled"
    assert _status("RTX 4090", "2023-10") == "3A090.a"
    d = chip("4090 D")
    assert d.tpp < 4800 and not d.datacenter
    assert _status("4090 D", "2023-10") == "not controlled"


def test_bad_input_raises():
    with pytest.raises(MlatlasError):
        chip("no such chip")
    with pytest.raises(MlatlasError):
        make_chip(100, 7)
    with pytest.raises(MlatlasError):
        make_chip(float("nan"), 8)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "mlatlas", "export-check", *args], capture_output=True, text=True)


@pytest.mark.parametrize(
    "args", [["--chip", "nope"], ["--tflops", "-1", "--bits", "8"], ["--tflops", "600", "--bits", "7"], []]
)
def test_cli_bad_input_is_one_line_and_exit_2(args):
    result = _cli(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("mlatlas: error:") and result.stderr.count("\n") == 1


def test_cli_json():
    import json

    result = _cli("--tflops", "600", "--bits", "8", "--die-area", "800", "--interconnect", "600", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["tpp"] == 4800
    assert [v["status"] for v in data["verdicts"]] == ["3A090", "3A090.a"]
