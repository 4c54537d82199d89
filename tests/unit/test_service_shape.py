"""Every service has the same shape: the same files, and HTTP only at the edge.

A reader should know where anything lives before opening a service's folder:
``domain.py`` (pure rules), ``handlers.py`` (use cases), ``store.py`` (tables and
queries), ``api.py`` (HTTP), ``consumers.py`` (the events it takes), ``service.py``
(its definition) and ``migrations/``. A service without one of them says why in its
``__init__`` docstring. Use cases and rules speak the domain: they raise
``core.failures`` errors and never import an HTTP library or ``ApiError``.

The checks read the source (``ast``), so nothing is imported or run.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import auction_platform.services

SERVICES_DIR = Path(auction_platform.services.__file__).parent
SERVICES = sorted(p.name for p in SERVICES_DIR.iterdir() if (p / "__init__.py").is_file())
FURNITURE = (
    "domain.py",
    "handlers.py",
    "store.py",
    "api.py",
    "consumers.py",
    "service.py",
    "migrations",
)

HTTP_LIBRARIES = frozenset({"httpx", "fastapi", "starlette", "aiohttp"})
# Where use cases and their commands live: they must not speak HTTP. (Notification's one
# use case is ``dispatch.py``; its package docstring says why.)
USE_CASE_MODULES = (
    "handlers.py",
    "domain.py",
    "commands.py",
    "notification/dispatch.py",
    "payment/feedback.py",
)
# Pure rule modules: the standard library, the shared contracts and the domain errors only.
RULE_MODULES = (
    "domain.py",
    "auction/listing.py",
    "bidding/engine.py",
    "notification/notices.py",
    "payment/reputation.py",
)
PURE_PROJECT_MODULES = ("auction_platform.contracts", "auction_platform.core.failures")


def _relative(path: Path) -> str:
    return path.relative_to(SERVICES_DIR).as_posix()


def _existing(names: tuple[str, ...]) -> list[Path]:
    """The modules by these names: in any service (``handlers.py``) or in one (``a/b.py``)."""
    found = {
        path
        for name in names
        for path in ([SERVICES_DIR / name] if "/" in name else SERVICES_DIR.glob(f"*/{name}"))
    }
    return sorted(path for path in found if path.is_file())


def _present(path: Path) -> bool:
    """A furniture file, or the ``migrations`` folder."""
    return path.is_dir() if path.name == "migrations" else path.is_file()


def _imports(tree: ast.AST) -> list[tuple[int, str, str | None]]:
    """Every import in the module, nested ones included: (line, module, name or None)."""
    found: list[tuple[int, str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            found.extend((node.lineno, module, alias.name) for alias in node.names)
    return found


def _speaks_http(path: Path) -> list[str]:
    """What in this module is an HTTP library or ``ApiError``, one line each."""
    tree = ast.parse(path.read_text(), filename=str(path))
    problems = [
        f"line {line}: {'from ' + module + ' ' if name else ''}import {name or module}"
        for line, module, name in _imports(tree)
        if module.split(".")[0] in HTTP_LIBRARIES or name == "ApiError"
    ]
    problems += [
        f"line {node.lineno}: uses {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "ApiError"
    ]
    return problems


@pytest.mark.parametrize("path", _existing(USE_CASE_MODULES + RULE_MODULES), ids=_relative)
def test_use_cases_and_rules_import_no_http_library_nor_api_error(path: Path) -> None:
    problems = _speaks_http(path)
    assert not problems, (
        f"{_relative(path)} speaks HTTP; raise core.failures errors and let api.py map "
        "them through the service's ErrorTable:\n  " + "\n  ".join(problems)
    )


@pytest.mark.parametrize("path", _existing(RULE_MODULES), ids=_relative)
def test_rule_modules_use_the_standard_library_only(path: Path) -> None:
    service = _relative(path).split("/")[0]
    allowed = (*PURE_PROJECT_MODULES, f"auction_platform.services.{service}")
    tree = ast.parse(path.read_text(), filename=str(path))
    impure = [
        f"line {line}: {module}"
        for line, module, _ in _imports(tree)
        if module.split(".")[0] not in sys.stdlib_module_names
        and module != "__future__"
        and not any(module == pure or module.startswith(pure + ".") for pure in allowed)
    ]
    assert not impure, f"{_relative(path)} is a rule module but imports:\n  " + "\n  ".join(impure)


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_files_or_says_why_not(service: str) -> None:
    folder = SERVICES_DIR / service
    missing = [name for name in FURNITURE if not _present(folder / name)]
    init = folder / "__init__.py"
    docstring = ast.get_docstring(ast.parse(init.read_text(), filename=str(init))) or ""
    unexplained = [name for name in missing if name not in docstring]
    assert not unexplained, (
        f"services/{service} has no {', '.join(unexplained)}: add them, or say why in the "
        f"docstring of services/{service}/__init__.py (naming each missing file)"
    )


def test_the_check_sees_every_service() -> None:
    assert {"identity", "auction", "bidding", "payment", "notification", "analytics"} <= set(
        SERVICES
    )
    assert {"gateway", "web"} <= set(SERVICES)
