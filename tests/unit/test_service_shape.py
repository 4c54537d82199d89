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
# Where use cases and their commands live: they must not speak HTTP. Found by name in
# every service, so a new one is read as soon as it is added: the use cases
# (``handlers.py`` and every ``*_handlers.py``), the commands and the domain, and the
# privacy use cases (``privacy.py``: the export, the obligations and the erasure; their
# routes are ``privacy_api.py``). Notification's one use case is ``dispatch.py`` (its
# package docstring says why); payment's feedback rules are ``feedback.py``.
USE_CASE_MODULES = (
    "handlers.py",
    "*_handlers.py",
    "domain.py",
    "commands.py",
    "privacy.py",
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
    """The modules by these names: in any service (``handlers.py``, or a pattern such as
    ``*_handlers.py``) or in one (``a/b.py``)."""
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


def test_the_import_check_reads_every_use_case_module() -> None:
    read = {_relative(path) for path in _existing(USE_CASE_MODULES)}
    everywhere = {
        _relative(path)
        for pattern in ("*/handlers.py", "*/*_handlers.py", "*/privacy.py")
        for path in SERVICES_DIR.glob(pattern)
    }
    assert everywhere <= read
    # The newer use cases, named: a glob that stopped matching would drop them silently.
    assert {
        "identity/privacy.py",
        "identity/address_handlers.py",
        "identity/suspension_handlers.py",
        "auction/category_handlers.py",
        "auction/privacy.py",
        "bidding/privacy.py",
        "payment/dispute_handlers.py",
        "payment/privacy.py",
        "analytics/shill_handlers.py",
    } <= read


def test_the_import_check_catches_http_in_a_use_case(tmp_path: Path) -> None:
    module = tmp_path / "late_handlers.py"
    module.write_text(
        "import httpx\n"
        "from fastapi import APIRouter\n"
        "from auction_platform.core.errors import ApiError\n"
        "from auction_platform.core import errors\n"
        "def refuse() -> None:\n"
        "    raise errors.ApiError(404, 'gone', 'gone')\n"
    )
    assert _speaks_http(module) == [
        "line 1: import httpx",
        "line 2: from fastapi import APIRouter",
        "line 3: from auction_platform.core.errors import ApiError",
        "line 6: uses errors.ApiError",
    ]


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


# Statuses and kinds are StrEnums: the modules that decide and query compare against a
# member (``BookStatus.OPEN``), never against a bare word ("open") a typo would keep
# compiling. Known exceptions, each with its reason, by module and comparison:
STATUS_MODULES = (*USE_CASE_MODULES, *RULE_MODULES, "store.py", "*_store.py", "queries.py")
BARE_WORDS_ALLOWED = {
    # A refund's status is the payment provider's own word (Stripe's: "succeeded",
    # "pending", "requires_action", ...), typed ``str`` by the ``PaymentProvider`` port.
    ("payment/handlers.py", "done.status == 'succeeded'"),
    ("payment/dispute_handlers.py", "done.status == 'succeeded'"),
}


def _words(node: ast.expr) -> bool:
    """A string literal, or a tuple, list or set of them."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return bool(node.elts) and all(_words(element) for element in node.elts)
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _names_a_status(node: ast.expr) -> bool:
    source = ast.unparse(node).lower()
    return "status" in source or "kind" in source


def _bare_status_words(tree: ast.AST) -> list[tuple[int, str]]:
    """``status == "open"``, ``kind in ("a", "b")``, ``c.status.in_(("a",))``: line, source."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_words(o) for o in operands) and any(
                not _words(o) and _names_a_status(o) for o in operands
            ):
                found.append((node.lineno, ast.unparse(node)))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"in_", "not_in", "notin_"}
            and _names_a_status(node.func.value)
            and any(_words(argument) for argument in node.args)
        ):
            found.append((node.lineno, ast.unparse(node)))
    return found


@pytest.mark.parametrize("path", _existing(STATUS_MODULES), ids=_relative)
def test_statuses_and_kinds_are_compared_as_enum_members_not_bare_words(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    bare = [
        f"line {line}: {source}"
        for line, source in _bare_status_words(tree)
        if (_relative(path), source) not in BARE_WORDS_ALLOWED
    ]
    assert not bare, (
        f"{_relative(path)} compares a status or kind with a bare word; use the StrEnum's "
        "member:\n  " + "\n  ".join(bare)
    )


@pytest.mark.parametrize(
    "source",
    [
        'status == "draft"',
        'rules.get("status") != "closed"',
        'notice.kind in ("won", "sold")',
        'books.c.status.in_(("scheduled", "open"))',
    ],
)
def test_the_status_check_catches_a_bare_word(source: str) -> None:
    assert [text for _, text in _bare_status_words(ast.parse(source))] != []


def test_the_status_check_passes_enum_members() -> None:
    source = "status == LotStatus.DRAFT or books.c.status.in_(KEEPING) or kind is Kind.WON"
    assert _bare_status_words(ast.parse(source)) == []


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


# --- consumers: declared in consumers.py, taken from there by service.py ------------------


def _definition_call(tree: ast.AST) -> ast.Call | None:
    """The module's ``ServiceDefinition(...)`` (or ``ServiceDefinition[C](...)``) call."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called = node.func.value if isinstance(node.func, ast.Subscript) else node.func
            if isinstance(called, ast.Name) and called.id == "ServiceDefinition":
                return node
    return None


def _plain_reference(node: ast.expr) -> bool:
    """A name or a chain of attributes (``runtime.context``): nothing built, nothing called."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def _consumer_problems(service: str, source: str, *, has_consumers_py: bool) -> list[str]:
    """Why ``service.py`` (``source``) does not take its consumers from ``consumers.py`` alone.

    Allowed: ``consumers=consumers.<function>``, or ``consumers=lambda runtime:
    consumers.<function>(<plain references>)``, with ``consumers`` imported from the
    service's own package; and no ``consumers=`` for a service without a consumers.py.
    """
    tree = ast.parse(source)
    definition = _definition_call(tree)
    if definition is None:
        return ["no ServiceDefinition(...) call"]
    given = next((kw.value for kw in definition.keywords if kw.arg == "consumers"), None)
    if not has_consumers_py:
        return [] if given is None else ["passes consumers= but has no consumers.py"]
    if given is None:
        return ["has a consumers.py but passes no consumers="]
    imported = any(
        isinstance(node, ast.ImportFrom)
        and node.module == f"auction_platform.services.{service}"
        and any(alias.name == "consumers" and alias.asname is None for alias in node.names)
        for node in ast.walk(tree)
    )
    problems = [] if imported else [f"does not import consumers from services.{service}"]
    taken = given.body if isinstance(given, ast.Lambda) else given
    arguments: list[ast.expr] = []
    if isinstance(given, ast.Lambda) and isinstance(taken, ast.Call):
        arguments = [*taken.args, *(kw.value for kw in taken.keywords)]
        taken = taken.func
    from_module = (
        isinstance(taken, ast.Attribute)
        and isinstance(taken.value, ast.Name)
        and taken.value.id == "consumers"
    )
    if not from_module or not all(_plain_reference(argument) for argument in arguments):
        problems.append(
            f"consumers={ast.unparse(given)}: take them from consumers.py only "
            "(consumers=consumers.<function>, or a lambda calling it with the runtime's parts)"
        )
    return problems


@pytest.mark.parametrize("service", SERVICES)
def test_service_definitions_take_their_consumers_from_consumers_py_only(service: str) -> None:
    folder = SERVICES_DIR / service
    problems = _consumer_problems(
        service,
        (folder / "service.py").read_text(),
        has_consumers_py=(folder / "consumers.py").is_file(),
    )
    assert not problems, (
        f"services/{service}/service.py: declare every consumer in consumers.py:\n  "
        + "\n  ".join(problems)
    )


_DEFINITION = """
from auction_platform.services.bidding import consumers, suspensions

DEFINITION = ServiceDefinition[Bidding](name="bidding", {given})
"""


@pytest.mark.parametrize(
    "given",
    [
        "consumers=lambda runtime: [*consumers.consumers(runtime.context),"
        " suspensions.consumer(runtime.context)]",
        "consumers=lambda runtime: (*consumers.consumers(runtime.context), *privacy.CONSUMERS)",
        "consumers=_consumers",
        "consumers=lambda runtime: consumers.every(extra(runtime))",
        "consumers=suspensions.consumer",
    ],
)
def test_the_consumers_check_catches_a_consumer_added_in_service_py(given: str) -> None:
    source = _DEFINITION.format(given=given)
    assert _consumer_problems("bidding", source, has_consumers_py=True) != []


@pytest.mark.parametrize(
    "given",
    [
        "consumers=consumers.consumers",
        "consumers=lambda runtime: consumers.every(runtime.context)",
        "consumers=lambda runtime: consumers.consumers(runtime.clock)",
    ],
)
def test_the_consumers_check_passes_consumers_taken_from_consumers_py(given: str) -> None:
    source = _DEFINITION.format(given=given)
    assert _consumer_problems("bidding", source, has_consumers_py=True) == []
    assert _consumer_problems("bidding", source, has_consumers_py=False) != []
