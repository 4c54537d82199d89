"""Every object the runbooks' kubectl commands name exists, with the right kind,
namespace, labels, ports and patchable fields, in the production overlay.

Both runbooks are read: the specification (``../shared/spec/RUNBOOK.md``) and the
project's own, corrected one (``docs/RUNBOOK.md``), which must also avoid the
specification's mistakes.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from opstools import (
    DEPLOY,
    KUSTOMIZE_ROOT,
    MIGRATION_JOB,
    NAMESPACE,
    PROJECT_RUNBOOK,
    REPO,
    SECRET_KEYS,
    Command,
    kubectl_commands,
    load_yaml,
    pod_labels,
    read_spec_runbook,
    render,
    selects,
    shell_commands,
)

KINDS = {
    "deploy": "Deployment",
    "deployment": "Deployment",
    "deployments": "Deployment",
    "hpa": "HorizontalPodAutoscaler",
    "horizontalpodautoscaler": "HorizontalPodAutoscaler",
    "job": "Job",
    "jobs": "Job",
    "cronjob": "CronJob",
    "cronjobs": "CronJob",
    "pod": "Pod",
    "pods": "Pod",
    "svc": "Service",
    "service": "Service",
    "events": "Event",
    "pvc": "PersistentVolumeClaim",
    "secret": "Secret",
    "configmap": "ConfigMap",
}
# Options whose next word is their value (so it is not a resource name).
VALUED = {"-n", "--namespace", "-l", "--selector", "-f", "--filename", "-p", "--patch", "-c"}
VALUED |= {"--container", "--type", "--field-selector", "--tail", "--for", "--timeout", "-o"}
VALUED |= {"--from", "--to-revision", "--replicas", "--image", "--restart", "--overrides"}
SECRET = "auction-platform-secrets"
# Tools the runbooks run inside containers, and the image that must provide each.
TOOLS_BY_IMAGE = {
    "postgres": {"psql", "pg_dump", "pg_dumpall", "pg_restore", "pg_isready"},
    "redis": {"redis-cli"},
    "rabbitmq": {"rabbitmqctl", "rabbitmq-diagnostics", "rabbitmq-plugins"},
    "auction-platform": {"curl", "auction-platform", "pg_dump", "pg_restore", "psql", "python"},
}


# Made by hand before the first deployment, never kept in the repository.
HAND_MADE = {"kind": "Secret", "metadata": {"name": SECRET, "namespace": NAMESPACE}}


def _objects() -> list[dict[str, Any]]:
    return [*render("overlays/production"), *load_yaml(MIGRATION_JOB), HAND_MADE]


def _resources(command: Command) -> tuple[list[tuple[str, str | None]], list[str]]:
    """The ``(kind, name)`` pairs a command names, and the words after ``--``."""
    words = command.words[1:]
    inside: list[str] = []
    if "--" in words:
        at = words.index("--")
        words, inside = words[:at], words[at + 1 :]
    positional: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in VALUED:
            skip = True
        elif not word.startswith("-"):
            positional.append(word)
    verb_words = 2 if positional and positional[0] in {"rollout", "set", "create"} else 1
    args = positional[verb_words:]
    refs: list[tuple[str, str | None]] = []
    if args and "/" not in args[0]:
        kind = KINDS.get(args[0].lower())
        if kind is not None:
            refs += [(kind, name) for name in args[1:]] or [(kind, None)]
    refs += [
        (KINDS[kind.lower()], name)
        for kind, name in (a.split("/", 1) for a in args if "/" in a)
        if kind.lower() in KINDS
    ]
    return refs, inside


def _image_family(workload: dict[str, Any]) -> str:
    image = str(workload["spec"]["template"]["spec"]["containers"][0]["image"])
    return image.rsplit("/", 1)[-1].split(":", 1)[0]


def _resolve(document: Any, pointer: str) -> Any:
    for part in pointer.strip("/").split("/"):
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


def check_command(command: Command, objects: list[dict[str, Any]]) -> None:
    """Assert that everything one kubectl command refers to exists as it expects."""
    where = f"`{command.line}`"
    namespace = command.option("-n", "--namespace")
    if namespace is not None:
        assert namespace == NAMESPACE, where
    verb = command.words[1]
    if verb == "kustomize":
        target = KUSTOMIZE_ROOT if command.cwd == "deploy/kubernetes" else REPO
        assert (target / command.words[2] / "kustomization.yaml").is_file(), where
        return
    filename = command.option("-f", "--filename")
    if verb == "apply" and filename not in (None, "-"):
        path = REPO / command.cwd / str(filename)
        assert path.is_file(), where
        for obj in load_yaml(path):
            assert obj["metadata"].get("namespace") == NAMESPACE, where
        return
    refs, inside = _resources(command)
    selector = command.option("-l", "--selector")
    if selector is not None:
        wanted = dict(pair.split("=", 1) for pair in selector.split(","))
        kind = refs[0][0] if refs else "Pod"
        if kind == "Pod" or verb == "logs":
            pools = [pod_labels(o) for o in objects if o["kind"] in {"Deployment", "Job"}]
        else:
            pools = [o["metadata"].get("labels", {}) for o in objects if o["kind"] == kind]
            if kind == "Job":  # Jobs a CronJob makes carry its jobTemplate's labels
                pools += [
                    o["spec"]["jobTemplate"].get("metadata", {}).get("labels", {})
                    for o in objects
                    if o["kind"] == "CronJob"
                ]
        assert any(selects({"matchLabels": wanted}, labels) for labels in pools), (
            f"{where}: nothing is labelled {selector}"
        )
    for kind, name in refs:
        # Placeholders (<pod-name>), shell variables ($d) and pods have no fixed name.
        if name is None or name.startswith(("<", "$")) or kind in {"Pod", "Event"}:
            continue
        hits = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
        assert len(hits) == 1, f"{where}: no {kind} named {name}"
        obj = hits[0]
        assert obj["metadata"]["namespace"] == NAMESPACE, where
        if kind in {"Deployment", "Job"}:
            assert pod_labels(obj).get("app") == name, f"{where}: pods of {name} lack app={name}"
        if verb == "exec" and inside:
            _check_exec(where, obj, inside)
        if verb == "patch" and command.option("--type") == "json":
            _check_patch(where, obj, command.option("-p", "--patch"))
        if verb == "wait" and kind == "Job":
            assert "ttlSecondsAfterFinished" not in obj["spec"], f"{where}: the Job would vanish"


def _check_exec(where: str, workload: dict[str, Any], inside: list[str]) -> None:
    family = _image_family(workload)
    tool = inside[0]
    assert tool in TOOLS_BY_IMAGE.get(family, set()), f"{where}: {family} has no {tool}"
    container = workload["spec"]["template"]["spec"]["containers"][0]
    for word in inside:
        match = re.fullmatch(r"(?:https?://)?localhost:(\d+)(/\S*)", word)
        if match:
            ports = [p["containerPort"] for p in container.get("ports", [])]
            assert int(match[1]) in ports, f"{where}: the container does not listen on {match[1]}"
            probes = [container[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe")]
            # The app on that port serves its health endpoints and its metrics.
            assert match[2].startswith(("/health", "/metrics")), where
            assert probes == ["/health/live", "/health/ready"], where


def _check_patch(where: str, obj: dict[str, Any], patch: str | None) -> None:
    assert patch is not None, where
    for operation in json.loads(patch):
        if operation["op"] == "replace":
            # A JSON-patch replace needs the path to exist already.
            _resolve(obj, operation["path"])


def _commands(markdown: str) -> list[Command]:
    commands = kubectl_commands(markdown)
    assert len(commands) > 20
    return commands


def test_every_object_the_specification_runbook_names_exists() -> None:
    spec = read_spec_runbook()
    assert spec is not None
    objects = _objects()
    for command in _commands(spec):
        check_command(command, objects)


def test_every_object_the_project_runbook_names_exists() -> None:
    objects = _objects()
    for command in _commands(PROJECT_RUNBOOK.read_text()):
        check_command(command, objects)


def test_the_check_catches_a_missing_object() -> None:
    objects = _objects()
    (wrong,) = kubectl_commands("```bash\nkubectl scale deployment bid-api -n x --replicas=5\n```")
    with pytest.raises(AssertionError):
        check_command(wrong, objects)
    (wrong,) = kubectl_commands(
        "```bash\nkubectl patch hpa bidding-api-hpa -n auction-platform --type=json "
        """-p='[{"op": "replace", "path": "/spec/nothing", "value": 1}]'\n```"""
    )
    with pytest.raises(KeyError):
        check_command(wrong, objects)


def test_the_project_runbook_keeps_the_specifications_sections() -> None:
    spec = read_spec_runbook()
    assert spec is not None
    headings = re.findall(r"^## (.+)$", spec, flags=re.M)
    ours = re.findall(r"^## (.+)$", PROJECT_RUNBOOK.read_text(), flags=re.M)
    assert [h for h in ours if h in headings] == headings


def test_the_project_runbook_avoids_the_specifications_mistakes() -> None:
    text = PROJECT_RUNBOOK.read_text()
    for command in shell_commands(text):
        line = command.line
        # A TTY turns \n into \r\n: never pipe or redirect `kubectl exec -t` output.
        if command.words[:2] == ["kubectl", "exec"] and any(
            re.fullmatch(r"-\w*t\w*", w) for w in command.words
        ):
            assert command.then not in {"|", "<", ">"}, f"`{line}`: -t corrupts piped data"
        if command.words[:3] == ["kubectl", "rollout", "status"]:
            refs, _ = _resources(command)
            assert all(name for _, name in refs), f"`{line}`: name the deployment"
        if command.words[:2] == ["kubectl", "scale"]:
            # --all would scale postgres, redis and rabbitmq too (and to 2 replicas on
            # one ReadWriteOnce volume).
            assert "--all" not in command.words, f"`{line}`: scale the services by label"
        if command.words[0] == "pg_restore" and "--list" in command.words:
            assert not any(w.endswith(".sql") for w in command.words), line
        # OOMKilled is a container's termination reason, never an event's.
        assert command.option("--field-selector") != "reason=OOMKilled", line


def test_the_runbooks_paths_exist() -> None:
    text = PROJECT_RUNBOOK.read_text()
    for path in re.findall(r"`((?:deploy|docs|src|tests)/[\w./-]+)`", text):
        assert (REPO / path).exists(), path
    assert (DEPLOY / "kubernetes" / "jobs" / "db-migration.yaml").is_file()


def test_command_parser_reads_continuations_pipes_and_cd() -> None:
    text = (
        "```bash\ncd deploy/kubernetes\n"
        "kubectl kustomize overlays/production | \\\n  kubectl apply -f -\n```"
    )
    commands = kubectl_commands(text)
    assert [c.words for c in commands] == [
        ["kubectl", "kustomize", "overlays/production"],
        ["kubectl", "apply", "-f", "-"],
    ]
    assert {c.cwd for c in commands} == {"deploy/kubernetes"}


def test_the_runbook_creates_the_secret_production_reads() -> None:
    (create,) = [
        c
        for c in kubectl_commands(PROJECT_RUNBOOK.read_text())
        if c.words[1:5] == ["create", "secret", "generic", SECRET]
    ]
    assert create.option("-n", "--namespace") == NAMESPACE
    keys = {w.split("=", 2)[1] for w in create.words if w.startswith("--from-literal=")}
    assert keys == SECRET_KEYS
