"""The services by name: each loaded when asked for, so a process holds only its own."""

from __future__ import annotations

import subprocess
import sys

from auction_platform.composition import DATABASE_SERVICES, DEFINITIONS
from auction_platform.settings import SERVICES


def test_every_service_is_named_as_its_definition_names_itself() -> None:
    assert sorted(DEFINITIONS) == sorted(SERVICES)
    assert all(DEFINITIONS[name].name == name for name in DEFINITIONS)
    assert "nope" not in DEFINITIONS


def test_the_database_services_are_those_whose_definitions_use_a_database() -> None:
    assert (
        tuple(name for name in DEFINITIONS if DEFINITIONS[name].uses_database) == DATABASE_SERVICES
    )


def test_a_process_serving_the_gateway_imports_no_other_service() -> None:
    script = """
import sys
from auction_platform.composition import Platform
from auction_platform.settings import Settings
Platform(Settings(_env_file=None), ["gateway"], embedded=False, environ={}).asgi_app()
print(sorted({m.split(".")[2] for m in sys.modules if m.startswith("auction_platform.services.")}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "['gateway']"
