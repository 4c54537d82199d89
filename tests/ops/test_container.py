"""The container image (deploy/docker/Dockerfile) and the local stack
(deploy/docker-compose.yml), tested for what can be tested without a Docker engine:
what the build copies exists and survives .dockerignore, the wheel builds from exactly
that context, the command and the health check it runs work, and hadolint is content."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import httpx
import yaml
from opstools import DEPLOY, REPO, require_tool, run

from auction_platform.settings import SERVICES, Settings
from support.http_server import free_port
from support.processes import child_env
from support.waiting import eventually

DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
COMPOSE = DEPLOY / "docker-compose.yml"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def _pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex (Go's filepath.Match, plus ``**``)."""
    out = ""
    for token in re.split(r"(\*\*/|\*\*|\*|\?)", pattern):
        out += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
            token, re.escape(token)
        )
    return re.compile(out)


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps ``path`` out of the build context.

    As Docker decides: the last pattern that matches the path or one of its parent
    folders wins, and ``!`` patterns put things back.
    """
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _pattern(pattern.removeprefix("!").strip("/"))
        if any(regex.fullmatch(candidate) for candidate in candidates):
            excluded = not negate
    return excluded


def dockerignore() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


# Never part of a build context here (and .dockerignore's `**` drops them anyway).
_SKIPPED = {".git", ".venv", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"}


def context_files() -> list[Path]:
    """The files ``docker build .`` would send from the repository root."""
    patterns = dockerignore()
    files = []
    for folder, dirs, names in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in _SKIPPED]
        for name in names:
            path = Path(folder) / name
            if not ignored(path.relative_to(REPO).as_posix(), patterns):
                files.append(path)
    return files


def test_what_the_build_copies_is_in_the_context() -> None:
    patterns = dockerignore()
    copies = [args for op, args in instructions() if op == "COPY" and "--from" not in args]
    assert copies
    for args in copies:
        *sources, _target = args.split()
        for source in sources:
            assert (REPO / source).exists(), source
            assert not ignored(source.rstrip("/"), patterns), f"{source} is in .dockerignore"
    assert ignored("tests/ops/test_container.py", patterns)
    assert ignored("src/auction_platform/__pycache__/cli.cpython-311.pyc", patterns)
    assert not ignored("src/auction_platform/cli.py", patterns)


def test_the_final_stage_is_small_and_unprivileged() -> None:
    steps = instructions()
    stages = [i for i, (op, _) in enumerate(steps) if op == "FROM"]
    assert len(stages) == 2
    final = steps[stages[-1] :]
    assert final[0][1].split()[0] == "${PYTHON_IMAGE}"
    assert any(a.startswith("PYTHON_IMAGE=python:3.11-slim") for op, a in steps if op == "ARG")
    run_steps = " ".join(a for op, a in final if op == "RUN")
    for tool in ("gcc", "build-essential", "pip wheel"):
        assert tool not in run_steps
    # The runbook curls /health/detail inside the pod; backups need pg_dump.
    assert re.search(r"install .*\bcurl\b.*\bpostgresql-client\b", run_steps)
    users = [a for op, a in final if op == "USER"]
    assert users == ["10001:10001"]
    assert any(op == "HEALTHCHECK" and "/health/live" in a for op, a in final)


def test_the_wheel_builds_from_the_build_context(tmp_path: Path) -> None:
    context = tmp_path / "context"
    for path in context_files():
        target = context / path.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), "."],
        cwd=context,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("auction_platform-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "auction_platform/cli.py" in names
    assert "auction_platform/services/identity/common_passwords.txt" in names
    assert any(
        n.startswith("auction_platform/services/bidding/migrations/versions/") for n in names
    )
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert (
        "auction-platform = auction_platform.cli:main"
        in zipfile.ZipFile(wheel).read(entry_points).decode()
    )


def _exec_form(args: str) -> list[str]:
    words: list[str] = json.loads(args)
    return words


def test_serve_help_works() -> None:
    out = run(sys.executable, "-m", "auction_platform", "serve", "--help").stdout
    assert "--port" in out


async def _exit_code(*args: str, env: dict[str, str]) -> int:
    process = await asyncio.create_subprocess_exec(*args, env=env)
    return await process.wait()


async def test_the_command_serves_and_the_healthcheck_passes() -> None:
    steps = dict(instructions())
    command = _exec_form(steps["CMD"])
    assert command[:2] == ["sh", "-c"] and "exec auction-platform serve" in command[2]
    check = _exec_form(steps["HEALTHCHECK"].split(" CMD ", 1)[1])
    assert check[0] == "python"
    port = free_port()
    env = child_env(
        SERVICE="notification",
        PORT=str(port),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:

        async def live() -> bool:
            try:
                async with httpx.AsyncClient() as http:
                    return (await http.get(f"http://127.0.0.1:{port}/health/live")).is_success
            except httpx.TransportError:
                return False

        await eventually(live, timeout=30, interval=0.2)
        assert await _exit_code(sys.executable, *check[1:], env=env) == 0
        # `exec` makes the service the shell's process, so SIGTERM reaches it and it drains.
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0
        assert b"Traceback" not in output
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    wrong_port = {**env, "PORT": str(free_port())}
    assert await _exit_code(sys.executable, *check[1:], env=wrong_port) != 0


def test_hadolint_finds_nothing() -> None:
    hadolint = require_tool("hadolint")
    run(hadolint, str(DOCKERFILE))


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return compose


def test_compose_runs_every_service_configured_for_the_real_servers() -> None:
    services = _compose()["services"]
    served = {s["environment"]["SERVICE"]: n for n, s in services.items() if "SERVICE" in str(s)}
    assert served == {name: f"{name}-api" for name in SERVICES}
    fields = {name.upper() for name in Settings.model_fields}
    for name in served.values():
        environment = services[name]["environment"]
        assert set(environment) - fields == {"SERVICE"}
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, **{k.lower(): v for k, v in environment.items() if k != "SERVICE"}
        )
        assert settings.database_url.startswith("postgresql+asyncpg://")
        assert settings.redis_url.startswith("redis://")
        assert settings.rabbitmq_url.startswith("amqp://")
        for other in SERVICES:
            if other != "gateway":
                assert settings.service_url(other) == f"http://{other}-api:8080"
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    assert services["migrate"]["command"] == ["auction-platform", "migrate"]
    assert services["rabbitmq"]["image"] == "rabbitmq:3-management"
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, (name, dependency)


def test_compose_believes_forwarded_addresses_only_from_the_gateway_and_the_site() -> None:
    services = _compose()["services"]

    def settings_of(name: str) -> Settings:
        environment = services[name]["environment"]
        values = {k.lower(): v for k, v in environment.items() if k != "SERVICE"}
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    def address(name: str) -> str:
        return str(services[name]["networks"]["default"]["ipv4_address"])

    # The gateway is the edge: the port is published straight to it.
    assert settings_of("gateway-api").trusted_proxies == []
    for service in SERVICES:
        if service != "gateway":
            proxies = settings_of(f"{service}-api").trusted_proxies
            assert sorted(proxies) == sorted([address("gateway-api"), address("web-api")])
    for service in SERVICES:
        assert settings_of(f"{service}-api").internal_networks == [address("prometheus")]


def test_compose_mounts_files_that_exist() -> None:
    services = _compose()["services"]
    plugins = (DEPLOY / "rabbitmq" / "enabled_plugins").read_text()
    assert "rabbitmq_prometheus" in plugins and "rabbitmq_management" in plugins
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), (name, source)
    assert (
        "./prometheus/alerts.yaml:/etc/prometheus/alerts.yaml:ro"
        in services["prometheus"]["volumes"]
    )
