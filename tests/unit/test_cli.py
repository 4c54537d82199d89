"""The command line answers at once and reads plainly: nothing heavy is imported before
a command runs, and every flag shows as a flag."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import auction_platform.cli
from auction_platform.cli import SERVICE_NAMES, cli
from auction_platform.settings import SERVICES

HEAVY = ("fastapi", "sqlalchemy", "aio_pika", "redis", "pydantic", "uvicorn", "httpx", "asyncpg")


def test_importing_the_command_loads_no_framework_driver_settings_or_service() -> None:
    probe = "import json, sys, auction_platform.cli; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    loaded = json.loads(result.stdout)
    assert sorted({m.split(".")[0] for m in loaded} & set(HEAVY)) == []
    ours = [m for m in loaded if m.startswith("auction_platform.")]
    assert [
        m for m in ours if not m.startswith(("auction_platform.cli", "auction_platform.ops"))
    ] == []


def test_the_command_line_holds_no_http_client() -> None:
    """Not even inside a command: the demo seeds through ``ops.demo``, which owns its client."""
    source = Path(auction_platform.cli.__file__)
    tree = ast.parse(source.read_text(), filename=str(source))
    imported = [
        (node.lineno, name)
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
        )
        if name.split(".")[0] in {"httpx", "aiohttp"}
    ]
    assert imported == []


def test_the_services_listed_in_help_are_the_platforms() -> None:
    assert SERVICE_NAMES == SERVICES


def _commands() -> dict[str, Any]:
    return dict(typer.main.get_command(cli).commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(_commands()))
def test_boolean_options_show_as_bare_flags(name: str) -> None:
    shown = CliRunner().invoke(cli, [name, "--help"], terminal_width=100)
    assert shown.exit_code == 0, shown.output
    assert "<bool>" not in shown.output
    flags = [p.opts[0] for p in _commands()[name].params if getattr(p, "is_flag", False)]
    for flag in [*flags, "--help"]:
        lines = [line.split() for line in shown.output.splitlines()]
        assert [flag] in [words[:1] for words in lines], f"{name}: {flag} is not listed alone"
        assert f"--no-{flag.removeprefix('--')}" not in shown.output


def test_the_top_level_help_lists_every_command() -> None:
    shown = CliRunner().invoke(cli, ["--help"], terminal_width=100)
    assert shown.exit_code == 0
    for name in _commands():
        assert name in shown.output


@pytest.mark.parametrize(
    ("interval", "ping", "timeout"), [(1800.0, 1800.0, 60.0), (0.0, None, None)]
)
def test_websocket_pings_follow_the_setting(
    monkeypatch: pytest.MonkeyPatch, interval: float, ping: float | None, timeout: float | None
) -> None:
    import uvicorn

    from auction_platform.core.websocket import LeanWebSocketProtocol
    from auction_platform.ops.serving import serve_app

    served: list[uvicorn.Config] = []

    def run(server: uvicorn.Server) -> None:
        served.append(server.config)
        server.started = True

    monkeypatch.setattr(uvicorn.Server, "run", run)
    serve_app(object(), host="127.0.0.1", port=0, graceful_seconds=1, ws_ping_interval=interval)
    assert [(c.ws_ping_interval, c.ws_ping_timeout) for c in served] == [(ping, timeout)]
    # The lean sans-I/O protocol, uncompressed: what a crowd of watchers costs in memory.
    assert [(c.ws, c.ws_per_message_deflate) for c in served] == [(LeanWebSocketProtocol, False)]
