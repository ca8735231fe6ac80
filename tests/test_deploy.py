"""Deployment files, checked offline: hadolint on the Dockerfile, the KEDA manifests
against the CRDs' own schemas, the Azure template's scale settings, and the command the
container runs, started here, answering on 127.0.0.1 and passing its health check.

Nothing here builds an image or talks to a cluster or to Azure.
"""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

import jsonschema
import yaml
from packaging.requirements import Requirement

from conftest import ROOT, run_env
from mlatlas.app.privacy import POLICY
from mlatlas.app.server import free_port

DEPLOY = ROOT / "deploy"
CRDS = ROOT / "tests/data/keda"
HADOLINT = Path(sys.executable).parent / "hadolint"


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined, comments dropped."""
    text = dockerfile.read_text().replace("\\\n", " ")
    pairs = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            pairs.append((word.upper(), " ".join(rest.split())))
    return pairs


def exec_form(arguments: str) -> list[str]:
    """The JSON array of a CMD or HEALTHCHECK CMD in exec form."""
    return json.loads(arguments[arguments.index("[") :])


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HADOLINT), "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60)


def schema(crd: str) -> dict:
    """The ``openAPIV3Schema`` of a stored CRD's served version."""
    (version,) = [v for v in yaml.safe_load((CRDS / crd).read_text())["spec"]["versions"] if v["served"]]
    return version["schema"]["openAPIV3Schema"]


def errors(document: dict, crd: str) -> list[str]:
    validator = jsonschema.Draft7Validator(schema(crd))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


# --- Dockerfile ----------------------------------------------------------------------


def test_hadolint_passes_the_dockerfile() -> None:
    result = hadolint(DEPLOY / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_careless_dockerfile(tmp_path: Path) -> None:
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python:latest\nRUN pip install gradio\nCMD mlatlas app\n")
    result = hadolint(careless)
    assert result.returncode != 0
    assert "DL3007" in result.stdout and "DL3013" in result.stdout  # :latest, unpinned pip install


def test_the_image_runs_the_app_as_a_user_with_a_health_check() -> None:
    steps = instructions(DEPLOY / "Dockerfile")
    words = [word for word, _ in steps]
    (base,) = [args for word, args in steps if word == "FROM"]
    assert ":" in base and not base.endswith(":latest")
    runs = [args for word, args in steps if word == "RUN"]
    assert "torch==2.13.0" in runs[0] and "whl/cpu" in runs[0], "the CPU torch wheel comes first"
    assert words.index("USER") > max(i for i, w in enumerate(words) if w == "RUN"), "nothing runs as root after"
    (user,) = [args for word, args in steps if word == "USER"]
    assert user not in {"root", "0"}
    (cmd,) = [exec_form(args) for word, args in steps if word == "CMD"]
    assert cmd == ["mlatlas", "app", "--host", "0.0.0.0", "--allow-remote", "--port", "7860"]
    (expose,) = [args for word, args in steps if word == "EXPOSE"]
    assert expose == "7860"
    assert "HEALTHCHECK" in words


def test_the_pinned_requirements_fit_the_package_bounds() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = [Requirement(r) for r in project["dependencies"] + extras["app"] + extras["extrude"] + extras["distill"]]
    pins = {
        (req := Requirement(line)).name.lower(): req
        for line in (DEPLOY / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for requirement in wanted:
        if requirement.name == "torch":
            continue  # installed first, from the CPU index (checked above)
        if requirement.name == "mlatlas":
            continue  # the app's own lab extras, listed in `wanted` one by one
        pin = pins[requirement.name.lower()]
        (version,) = [spec.version for spec in pin.specifier if spec.operator == "=="]
        assert requirement.specifier.contains(version), f"{pin} is outside {requirement}"


# --- KEDA ----------------------------------------------------------------------------


def manifests() -> dict[tuple[str, str], dict]:
    docs = {}
    for path in DEPLOY.glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            docs[(doc["kind"], doc["metadata"]["name"])] = doc
    return docs


def test_the_keda_manifests_match_the_crd_schemas() -> None:
    docs = manifests()
    assert errors(docs[("ScaledObject", "mlatlas-app")], "keda.sh_scaledobjects.yaml") == []
    assert errors(docs[("InterceptorRoute", "mlatlas-app")], "http.keda.sh_interceptorroutes.yaml") == []


def test_the_schema_check_catches_mistakes() -> None:
    scaled = manifests()[("ScaledObject", "mlatlas-app")]
    broken = {**scaled, "spec": {**scaled["spec"], "minReplicaCount": -1, "cooldownPeriod": "15m"}}
    assert len(errors(broken, "keda.sh_scaledobjects.yaml")) == 2
    route = manifests()[("InterceptorRoute", "mlatlas-app")]
    broken = {**route, "spec": {**route["spec"], "target": {"port": 80}}}
    assert any("'service' is a required property" in e for e in errors(broken, "http.keda.sh_interceptorroutes.yaml"))


def test_keda_scales_the_deployment_zero_to_ten_and_back_after_fifteen_minutes() -> None:
    docs = manifests()
    spec = docs[("ScaledObject", "mlatlas-app")]["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"], spec["cooldownPeriod"]) == (0, 10, 900)
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "external-push"
    route = docs[("InterceptorRoute", trigger["metadata"]["interceptorRoute"])]["spec"]
    deployment = docs[("Deployment", spec["scaleTargetRef"]["name"])]
    service = docs[("Service", route["target"]["service"])]
    assert route["target"]["port"] in [p["port"] for p in service["spec"]["ports"]]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert [p["containerPort"] for p in container["ports"]] == [7860]
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001
    assert "replicas" not in deployment["spec"], "KEDA owns the replica count"


# --- Azure ---------------------------------------------------------------------------


def test_the_azure_template_scales_like_the_keda_manifests() -> None:
    template = json.loads((DEPLOY / "azure/main.json").read_text())
    resources = {r["type"]: r for r in template["resources"]}
    assert set(resources) == {
        "Microsoft.ContainerRegistry/registries",
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "Microsoft.Authorization/roleAssignments",
        "Microsoft.App/managedEnvironments",
        "Microsoft.App/containerApps",
    }
    assert resources["Microsoft.ContainerRegistry/registries"]["properties"]["adminUserEnabled"] is False
    assignment = resources["Microsoft.Authorization/roleAssignments"]["properties"]
    assert template["variables"]["acrPullRoleId"] == "7f951dda-4ed3-4680-a7ca-43fe172d538d"  # AcrPull
    assert "variables('acrPullRoleId')" in assignment["roleDefinitionId"]
    app = resources["Microsoft.App/containerApps"]["properties"]
    scale = app["template"]["scale"]
    assert (scale["minReplicas"], scale["maxReplicas"], scale["cooldownPeriod"]) == (0, 10, 900)
    assert [rule["name"] for rule in scale["rules"] if "http" in rule] == ["http-load"]
    (container,) = app["template"]["containers"]
    cmd = [args for word, args in instructions(DEPLOY / "Dockerfile") if word == "CMD"][0]
    assert container["command"] + container["args"] == exec_form(cmd)
    assert app["configuration"]["ingress"]["targetPort"] == 7860
    assert "identity" in app["configuration"]["registries"][0]


# --- the served app ------------------------------------------------------------------


def test_the_containers_command_answers_on_loopback_and_stops_on_sigterm() -> None:
    """The Dockerfile's CMD and HEALTHCHECK, run here on 127.0.0.1 and a free port."""
    steps = instructions(DEPLOY / "Dockerfile")
    port = str(free_port())
    local = {"0.0.0.0": "127.0.0.1", "7860": port}
    (health,) = [exec_form(args) for word, args in steps if word == "HEALTHCHECK"]
    health = [sys.executable if arg == "python" else arg.replace(":7860/", f":{port}/") for arg in health]
    (command,) = [[local.get(w, w) for w in exec_form(args)] for word, args in steps if word == "CMD"]
    assert subprocess.run(health, capture_output=True, timeout=30).returncode != 0, "nothing serves yet"
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / command[0]), *command[1:]],
        cwd=ROOT, env=run_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout.readline().startswith(f"mlatlas app: serving on http://127.0.0.1:{port}/")
        workdir = Path(process.stdout.readline().split(" in ", 1)[1].split(",")[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
            assert response.status == 200
            assert response.headers["Content-Security-Policy"] == POLICY
        assert subprocess.run(health, capture_output=True, timeout=30).returncode == 0, shlex.join(health)
        process.send_signal(signal.SIGTERM)  # what `docker stop` sends
        assert process.wait(timeout=60) == 0, process.stderr.read()
        assert not workdir.exists()
    finally:
        if process.poll() is None:
            process.kill()
