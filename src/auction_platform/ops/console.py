"""How every command talks to the operator: one line per outcome, no traceback for
what the operator can fix.

Imported by the ``auction-platform`` command at start, so it imports nothing heavy
itself: each helper imports what it needs when called.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Coroutine
from functools import cache
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from auction_platform.ops.errors import Target
    from auction_platform.settings import Settings

T = TypeVar("T")


@cache
def console() -> Console:
    """The operator's console (standard error), made on first use."""
    from rich.console import Console

    return Console(stderr=True)


def say(message: str) -> None:
    """One line to the operator (rich markup allowed), never wrapped."""
    console().print(message, soft_wrap=True)


def fail(message: str, *, code: int = 1) -> NoReturn:
    """End the command with one line (no traceback); a tool's multi-line output is joined."""
    from rich.text import Text

    joined = " ".join(part.strip() for part in message.splitlines() if part.strip())
    line = Text.assemble(("error: ", "bold red"), joined)
    console().print(line, soft_wrap=True, highlight=False)
    raise typer.Exit(code)


def load_settings(**overrides: object) -> Settings:
    """The settings, or one line per invalid one and exit code 2."""
    from pydantic import ValidationError

    from auction_platform.settings import Settings

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]).upper() or "SETTINGS"
            message = error["msg"].removeprefix("Value error, ")
            line = f"error: invalid configuration: {where}: {message}"
            console().print(line, soft_wrap=True, markup=False, highlight=False)
        raise typer.Exit(2) from exc


def run_async(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's async work; an operator's error ends it with its one line."""
    import asyncio

    from auction_platform.ops.errors import OperatorError

    try:
        return asyncio.run(work)
    except OperatorError as error:
        fail(error.message)


async def reaching(target: Target, step: Awaitable[T]) -> T:
    """Await ``step``; a failure to reach ``target`` becomes an ``OperatorError``."""
    from auction_platform.ops.errors import explain

    try:
        return await step
    except Exception as exc:
        explained = explain(exc, target)
        if explained is None:
            raise
        raise explained from exc


def database_target(settings: Settings, service: str) -> Target:
    """Where a service's database is, and the setting that says so."""
    from auction_platform.ops import errors

    setting = f"{service.upper()}_DATABASE_URL"
    if not os.environ.get(setting):
        setting = "DATABASE_URL" if settings.database_url else "DATA_DIR"
    url = settings.database_url_for(service, overrides=dict(os.environ))
    return errors.database_target(url, setting)
