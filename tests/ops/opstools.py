"""What the operations tests share: the tools they call and the manifests they read."""

from __future__ import annotations

import functools
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from auction_platform.settings import SERVICES
from support.servers import missing

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
KUSTOMIZE_ROOT = DEPLOY / "kubernetes"
MIGRATION_JOB = KUSTOMIZE_ROOT / "jobs" / "db-migration.yaml"
# CI clones main into a folder with a copy of shared/ beside it; so is the workspace.
SPEC_RUNBOOK = REPO.parent / "shared" / "spec" / "RUNBOOK.md"
PROJECT_RUNBOOK = REPO / "docs" / "RUNBOOK.md"
NAMESPACE = "auction-platform"
# The services and their Deployments / Services (the runbook's names; web-api, the
# site, is the project runbook's addition to the specification's seven).
APPS = {name: f"{name}-api" for name in SERVICES}
# Keys of the Secret auction-platform-secrets, which production creates by hand
# (docs/RUNBOOK.md, "First Deployment") and the dev overlay generates.
SECRET_KEYS = frozenset(
    {
        "SECRET_KEY",
        "PGPASSWORD",
        "POSTGRES_PASSWORD",
        "RABBITMQ_DEFAULT_USER",
        "RABBITMQ_DEFAULT_PASS",
        "RABBITMQ_URL",
        "STRIPE_API_KEY",
        "STRIPE_WEBHOOK_SECRETS",
        "SMTP_USERNAME",
        "SMTP_PASSWORD",
    }
)


def require_tool(name: str) -> str:
    """The path of a command-line tool, from PATH or beside this Python (the venv)."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        missing(f"{name} is not installed")
    assert found is not None
    return found


def run(*args: str, cwd: Path = REPO, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a tool; on failure the assertion shows its output."""
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    if check:
        assert result.returncode == 0, f"{shlex.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


@functools.cache
def _render(target: str) -> tuple[dict[str, Any], ...]:
    out = run(require_tool("kubectl"), "kustomize", target, cwd=KUSTOMIZE_ROOT).stdout
    return tuple(doc for doc in yaml.safe_load_all(out) if doc)


def render(target: str) -> list[dict[str, Any]]:
    """The objects ``kubectl kustomize <target>`` renders (run in deploy/kubernetes)."""
    return list(_render(target))


def load_yaml(path: Path) -> list[dict[str, Any]]:
    """Every document of a YAML file."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The one object of that kind and name."""
    hits = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(hits) == 1, f"expected one {kind}/{name}, found {len(hits)}"
    return hits[0]


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The objects of one kind."""
    return [o for o in objects if o["kind"] == kind]


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    """The labels of a workload's pods."""
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    labels: dict[str, str] = spec["template"]["metadata"]["labels"]
    return labels


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) matches labels."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def read_spec_runbook() -> str | None:
    """The specification's runbook, or None (skipped locally, failed in CI) when absent."""
    if not SPEC_RUNBOOK.is_file():
        missing(f"the specification runbook is not at {SPEC_RUNBOOK}")
        return None
    return SPEC_RUNBOOK.read_text()


@dataclass(frozen=True)
class Command:
    """One shell command of a runbook's code blocks."""

    words: list[str]
    cwd: str  # the last `cd` before it in the same block ("" when none)
    line: str
    then: str = ""  # what follows it: "|", ">", "<", ";", "&&"...

    def option(self, *names: str) -> str | None:
        """The value of ``-n X``, ``--namespace=X`` and the like."""
        for i, word in enumerate(self.words):
            for name in names:
                if word == name and i + 1 < len(self.words):
                    return self.words[i + 1]
                if word.startswith(name + "="):
                    return word.split("=", 1)[1]
        return None


def shell_commands(markdown: str) -> Iterator[Command]:
    """Every simple command in the fenced bash blocks of a markdown document."""
    for block in re.findall(r"```(?:bash|sh)\n(.*?)```", markdown, flags=re.S):
        cwd = ""
        joined = re.sub(r"\\\n\s*", " ", block)
        for raw in joined.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;<>")
            lexer.whitespace_split = True
            lexer.commenters = "#"
            words: list[str] = []
            for token in [*lexer, ";"]:
                if token and set(token) <= set("|&;<>"):
                    if words:
                        if words[0] == "cd" and len(words) > 1:
                            cwd = words[1]
                        yield Command(words, cwd, line, then=token)
                    words = []
                    if token in {"<", ">"}:
                        words = ["__redirect__"]
                else:
                    words.append(token)


def kubectl_commands(markdown: str) -> list[Command]:
    """The kubectl commands of a runbook."""
    return [c for c in shell_commands(markdown) if c.words[0] == "kubectl"]
