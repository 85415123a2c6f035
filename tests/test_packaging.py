"""The container image and compose file have what operators rely on (no Docker engine runs
in the test environment, so these read the files; the lock file must match pyproject)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split()[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_is_multi_stage_with_dependencies_before_the_code() -> None:
    steps = instructions()
    froms = [arg for op, arg in steps if op == "FROM"]
    assert len(froms) >= 2 and " AS build" in froms[0]
    copies = [arg for op, arg in steps if op == "COPY"]
    lock = next(i for i, c in enumerate(copies) if c.startswith("requirements.lock"))
    code = next(i for i, c in enumerate(copies) if c.startswith("bot "))
    assert lock < code
    runs = [arg for op, arg in steps if op == "RUN"]
    assert any("-r /tmp/requirements.lock" in r for r in runs)
    assert any("--no-deps" in r for r in runs)
    assert any(op == "COPY" and arg.startswith("--from=build") for op, arg in steps)


def test_dockerfile_runs_as_non_root_with_a_healthcheck_and_a_data_volume() -> None:
    steps = instructions()
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
    users = [arg for op, arg in final if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    [health] = [arg for op, arg in final if op == "HEALTHCHECK"]
    assert "/healthz" in health and "8080" in health
    assert any(op == "VOLUME" and "/data" in arg for op, arg in final)
    env = " ".join(arg for op, arg in final if op == "ENV")
    assert "HERALD_LISTEN=0.0.0.0:8080" in env
    assert "DATABASE_URL=sqlite:////data/herald.db" in env


def test_compose_runs_two_replicas_on_postgresql() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    replicas = [s for name, s in services.items() if name.startswith("herald")]
    assert len(replicas) == 2
    for replica in replicas:
        env = replica["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert env["HERALD_LISTEN"] == "0.0.0.0:8080"
        assert "TELEGRAM_BOT_TOKEN" in env
        assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
    ports = {p for r in replicas for p in r["ports"]}
    assert len(ports) == 2  # each replica's /metrics reachable on its own port


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _pinned(lock: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / lock).read_text().splitlines():
        if "==" in line and not line.startswith(("#", " ")):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version.strip()
    return pins


def test_lock_files_pin_every_declared_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_name(r) for r in project["dependencies"]}
    dev = {_name(r) for r in project["optional-dependencies"]["dev"]}
    assert runtime <= set(_pinned("requirements.lock")), "run `make lock`"
    assert runtime | dev <= set(_pinned("requirements-dev.lock")), "run `make lock`"
    shared = set(_pinned("requirements.lock")) & set(_pinned("requirements-dev.lock"))
    for name in shared:  # the image and the tests use the same versions
        assert _pinned("requirements.lock")[name] == _pinned("requirements-dev.lock")[name], name
