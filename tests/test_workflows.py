"""Checks on the GitHub Actions workflows and the `.ci/run` entry point."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
CI_WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
PINNED = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")
PAGES_SCOPES = {"pages", "id-token"}


def _actionlint():
    """Finds the actionlint binary.

    Returns:
        The path to actionlint, or None if it is not installed.
    """
    found = shutil.which("actionlint")
    if found:
        return found
    candidate = Path(sys.executable).parent / "actionlint"
    return str(candidate) if candidate.is_file() else None


def _load(path):
    """Parses a workflow file.

    Args:
        path: The workflow file.

    Returns:
        The parsed workflow as a dict.
    """
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _needs(job):
    """Returns the names of the jobs that `job` directly depends on.

    Args:
        job: A job mapping from a workflow.

    Returns:
        A set of job names.
    """
    needs = job.get("needs", [])
    return {needs} if isinstance(needs, str) else set(needs)


def _all_needs(jobs, name):
    """Returns every job that job `name` depends on, directly or not.

    Args:
        jobs: The workflow's `jobs` mapping.
        name: The job to start from.

    Returns:
        A set of job names.
    """
    seen, todo = set(), [name]
    while todo:
        for dep in _needs(jobs[todo.pop()]) - seen:
            seen.add(dep)
            todo.append(dep)
    return seen


@pytest.fixture(scope="module")
def ci():
    """The parsed CI workflow."""
    return _load(CI_WORKFLOW)


def test_actionlint_passes():
    """Every workflow passes actionlint."""
    binary = _actionlint()
    if binary is None:
        pytest.fail("actionlint not found; run `make test`, which installs it.")
    assert WORKFLOWS, "no workflow files found"
    result = subprocess.run(
        [binary, "-no-color", *map(str, WORKFLOWS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_pinned_to_commit_sha(path):
    """Every `uses:` names a full 40-hex commit SHA.

    Args:
        path: The workflow file.
    """
    for job in _load(path)["jobs"].values():
        for step in job.get("steps", []):
            if "uses" in step:
                assert PINNED.match(step["uses"]), step["uses"]


def test_permissions_least_privilege(ci):
    """Top level is read-only; only the deploy job may write Pages."""
    assert ci["permissions"] == {"contents": "read"}
    for name, job in ci["jobs"].items():
        granted = PAGES_SCOPES & set(job.get("permissions", {}))
        if name == "deploy":
            assert job["permissions"] == {"pages": "write", "id-token": "write"}
        else:
            assert not granted, f"job {name!r} must not have {granted}"


def test_deploy_depends_on_build_and_test(ci):
    """Deploy needs build, and build (transitively) needs test."""
    jobs = ci["jobs"]
    assert "build" in _needs(jobs["deploy"])
    assert "test" in _all_needs(jobs, "build")


def test_test_job_runs_make_test(ci):
    """The test job runs the README's command, `make test`."""
    runs = [step["run"] for step in ci["jobs"]["test"]["steps"] if "run" in step]
    lines = [line.strip() for run in runs for line in run.splitlines()]
    assert "make test" in lines


def test_ci_run_invokes_make_test():
    """`.ci/run` runs `make test` and does not call pytest itself."""
    script = ROOT / ".ci" / "run"
    assert script.is_file(), f"{script} is missing"
    commands = [
        line.strip()
        for line in script.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    make_lines = [line for line in commands if re.search(r"\bmake\b", line)]
    assert len(make_lines) == 1, commands
    assert re.search(r"\bmake test\b", make_lines[0]), make_lines
    assert not any("pytest" in line for line in commands), commands
