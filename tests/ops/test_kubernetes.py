"""The kustomize tree renders, validates against the Kubernetes schemas, and says what
the code and the runbook need: names, probes, security, config, policies."""

from __future__ import annotations

import copy
import sys
from typing import Any

import kubernetes_validate
import pytest
from opstools import (
    APPS,
    MIGRATION_JOB,
    NAMESPACE,
    SECRET_KEYS,
    find,
    load_yaml,
    of_kind,
    pod_labels,
    render,
    run,
    selects,
)

from auction_platform.composition import DEFINITIONS, default_service_url
from auction_platform.settings import Settings

# The oldest Kubernetes we support (CronJob timeZone is GA from 1.27).
KUBERNETES_VERSION = "1.30.0"
# Custom resources of the Prometheus Operator: kubernetes-validate ships only the
# built-in schemas, so these kinds are checked by test_monitoring.py instead.
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule"}
OVERLAYS = ["base", "overlays/dev", "overlays/production"]
DATA_STORES = ("postgres", "redis", "rabbitmq")
# Environment the ConfigMap sets that is not a platform setting: read by the OS and libpq.
NON_SETTINGS = {"HOME"}


def validate(objects: list[dict[str, Any]]) -> list[str]:
    """Validate built-in kinds strictly; the kinds that were not validated."""
    skipped = []
    for obj in objects:
        if obj["kind"] in CUSTOM_KINDS:
            skipped.append(obj["kind"])
            continue
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    return skipped


def api_deployments(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {svc: find(objects, "Deployment", name) for svc, name in APPS.items()}


def container(workload: dict[str, Any]) -> dict[str, Any]:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    containers: list[dict[str, Any]] = spec["template"]["spec"]["containers"]
    return containers[0]


@pytest.mark.parametrize("target", OVERLAYS)
def test_renders_and_validates(target: str) -> None:
    objects = render(target)
    skipped = validate(objects)
    assert sorted(set(skipped)) == sorted(CUSTOM_KINDS)
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == NAMESPACE, obj["metadata"]["name"]


def test_the_migration_job_validates() -> None:
    assert validate(load_yaml(MIGRATION_JOB)) == []


def test_validation_is_not_a_formality() -> None:
    deployment = copy.deepcopy(find(render("base"), "Deployment", "bidding-api"))
    deployment["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate([deployment])
    deployment = copy.deepcopy(find(render("base"), "Deployment", "bidding-api"))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["pth"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        validate([deployment])


@pytest.mark.parametrize("target", OVERLAYS)
def test_every_service_runs_as_the_runbook_expects(target: str) -> None:
    objects = render(target)
    for service, deployment in api_deployments(objects).items():
        name = APPS[service]
        assert deployment["metadata"]["labels"]["app"] == name
        assert deployment["spec"]["selector"]["matchLabels"] == {"app": name}
        assert pod_labels(deployment)["app"] == name
        pod = deployment["spec"]["template"]["spec"]
        app = container(deployment)
        assert app["command"] == ["auction-platform", "serve", service, "--port", "8080"]
        assert app["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
        assert app["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
        assert app["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
        assert app["startupProbe"]["httpGet"]["path"] == "/health/live"
        assert {"cpu", "memory"} <= app["resources"]["requests"].keys()
        assert {"cpu", "memory"} <= app["resources"]["limits"].keys()
        assert app["envFrom"] == [
            {"configMapRef": {"name": "auction-platform-config"}},
            {"secretRef": {"name": "auction-platform-secrets"}},
        ]
        # Graceful stop: endpoints drop the pod during the preStop sleep, then the app
        # drains (up to 25 s) well inside the grace period.
        assert app["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
        assert pod["terminationGracePeriodSeconds"] >= 5 + 25 + 5
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert app["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }
        assert {"name": "tmp", "mountPath": "/tmp"} in app["volumeMounts"]
        assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]


@pytest.mark.parametrize("target", OVERLAYS)
def test_services_hpas_and_budgets_point_at_their_deployments(target: str) -> None:
    objects = render(target)
    deployments = {d["metadata"]["name"]: d for d in of_kind(objects, "Deployment")}
    for service in of_kind(objects, "Service"):
        selector = {"matchLabels": service["spec"]["selector"]}
        matches = [d for d in deployments.values() if selects(selector, pod_labels(d))]
        assert [d["metadata"]["name"] for d in matches] == [service["metadata"]["name"]]
        named_ports = {p["name"] for p in container(matches[0]).get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in named_ports
    for name in APPS.values():
        assert find(objects, "Service", name)["spec"]["ports"][0]["port"] == 8080
        hpa = find(objects, "HorizontalPodAutoscaler", f"{name}-hpa")
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        assert hpa["spec"]["minReplicas"] == deployments[name]["spec"]["replicas"]
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
        budget = find(objects, "PodDisruptionBudget", name)
        assert selects(budget["spec"]["selector"], pod_labels(deployments[name]))


def test_the_default_service_urls_are_the_kubernetes_services() -> None:
    objects = render("base")
    config = find(objects, "ConfigMap", "auction-platform-config")["data"]
    for service, name in APPS.items():
        find(objects, "Service", name)
        assert default_service_url(service) == f"http://{name}:8080"
        if service != "gateway":
            assert config[f"{service.upper()}_URL"] == f"http://{name}:8080"


@pytest.mark.parametrize("target", OVERLAYS)
def test_the_configuration_is_valid_settings(target: str) -> None:
    config = find(render(target), "ConfigMap", "auction-platform-config")["data"]
    fields = {name.upper() for name in Settings.model_fields}
    assert set(config) - fields <= NON_SETTINGS
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        **{k.lower(): v for k, v in config.items() if k not in NON_SETTINGS},
        # What the Secret adds.
        secret_key="x" * 40,
        rabbitmq_url="amqp://auction:secret@rabbitmq:5672/",
        stripe_api_key="sk_live_x",
        stripe_webhook_secrets=["whsec_x"],
    )
    assert settings.database_url == "postgresql+asyncpg://auction@postgres:5432/auction"
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.trusted_proxies
    assert settings.internal_networks


def test_production_reads_a_secret_it_does_not_contain() -> None:
    objects = render("overlays/production")
    assert of_kind(objects, "Secret") == []
    config = find(objects, "ConfigMap", "auction-platform-config")["data"]
    assert config["ENVIRONMENT"] == "production"
    assert "password" not in str(config).lower()


def test_dev_makes_every_secret_key_the_manifests_read() -> None:
    objects = render("overlays/dev")
    (secret,) = of_kind(objects, "Secret")
    assert secret["metadata"]["name"] == "auction-platform-secrets"
    assert set(secret["data"]) == SECRET_KEYS
    read = set()
    for workload in of_kind(objects, "Deployment"):
        for env in container(workload).get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["name"] == "auction-platform-secrets"
                read.add(ref["key"])
    assert read <= SECRET_KEYS
    config = find(objects, "ConfigMap", "auction-platform-config")["data"]
    assert config["ENVIRONMENT"] == "development"


def test_production_raises_replicas_and_resources() -> None:
    base = api_deployments(render("base"))
    production = api_deployments(render("overlays/production"))
    for service in APPS:
        assert production[service]["spec"]["replicas"] >= max(2, base[service]["spec"]["replicas"])
        assert container(production[service])["resources"] != container(base[service])["resources"]
    hpa = find(render("overlays/production"), "HorizontalPodAutoscaler", "bidding-api-hpa")
    assert hpa["spec"]["maxReplicas"] >= 10


def test_data_stores_keep_their_data_and_never_run_twice() -> None:
    objects = render("overlays/production")
    for name in DATA_STORES:
        deployment = find(objects, "Deployment", name)
        assert pod_labels(deployment)["app"] == name
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}
        claims = [
            v["persistentVolumeClaim"]["claimName"]
            for v in deployment["spec"]["template"]["spec"]["volumes"]
            if "persistentVolumeClaim" in v
        ]
        assert claims == [f"{name}-data"]
        find(objects, "PersistentVolumeClaim", f"{name}-data")
        assert find(objects, "Service", name)["spec"]["selector"] == {"app": name}
    assert container(find(objects, "Deployment", "postgres"))["image"] == "postgres:15-bookworm"


def _admitted(objects: list[dict[str, Any]], target: str, port: int) -> set[str]:
    """The ``app`` labels whose pods may reach ``target`` pods on ``port``."""
    candidates = [pod_labels(o) for o in objects if o["kind"] in {"Deployment", "CronJob"}] + [
        pod_labels(o) for o in load_yaml(MIGRATION_JOB)
    ]
    target_labels = {"app": target}
    admitted: set[str] = set()
    for policy in of_kind(objects, "NetworkPolicy"):
        if not selects(policy["spec"]["podSelector"], target_labels):
            continue
        for rule in policy["spec"].get("ingress", []):
            if port not in [p["port"] for p in rule.get("ports", [])]:
                continue
            for peer in rule.get("from", []):
                if "podSelector" in peer and "namespaceSelector" not in peer:
                    admitted |= {
                        labels["app"]
                        for labels in candidates
                        if selects(peer["podSelector"], labels)
                    }
    return admitted


def test_network_policies_follow_each_services_dependencies() -> None:
    objects = render("overlays/production")
    deny = find(objects, "NetworkPolicy", "default-deny-ingress")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}

    def apps(predicate: Any) -> set[str]:
        return {APPS[n] for n, d in DEFINITIONS.items() if predicate(d)}

    assert _admitted(objects, "postgres", 5432) == apps(lambda d: d.uses_database) | {
        "db-migration",
        "db-backup",
    }
    assert _admitted(objects, "redis", 6379) == apps(lambda d: d.uses_cache)
    assert _admitted(objects, "rabbitmq", 5672) == apps(lambda d: d.uses_broker) | {"db-migration"}
    for callee, name in APPS.items():
        callers = apps(lambda d, callee=callee: callee in d.calls)
        if callee == "identity":  # every service verifies tokens with identity's keys
            callers = {n for s, n in APPS.items() if s != "identity"}
        assert _admitted(objects, name, 8080) == callers, callee


def test_the_site_reaches_only_the_apis_redis_and_dns() -> None:
    objects = render("overlays/production")
    egress = [p for p in of_kind(objects, "NetworkPolicy") if "Egress" in p["spec"]["policyTypes"]]
    # Egress stays open for the others (payment reaches Stripe, notification SMTP/SMS).
    assert [p["spec"]["podSelector"] for p in egress] == [{"matchLabels": {"app": "web-api"}}]
    (policy,) = egress
    pods = [pod_labels(d) for d in of_kind(objects, "Deployment")]
    reached: set[tuple[str, int]] = set()
    dns = False
    for rule in policy["spec"]["egress"]:
        for peer in rule["to"]:
            if "namespaceSelector" in peer:
                assert peer == {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                    },
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
                assert {(p["port"], p["protocol"]) for p in rule["ports"]} == {
                    (53, "UDP"),
                    (53, "TCP"),
                }
                dns = True
                continue
            reached |= {
                (labels["app"], port["port"])
                for labels in pods
                if selects(peer["podSelector"], labels)
                for port in rule["ports"]
            }
    web = DEFINITIONS["web"]
    assert not web.uses_database and not web.uses_broker
    assert dns
    assert reached == {(APPS[callee], 8080) for callee in web.calls} | {("redis", 6379)}


def test_only_the_gateway_is_reachable_from_the_ingress_controller() -> None:
    objects = render("overlays/production")
    from_ingress = [
        policy
        for policy in of_kind(objects, "NetworkPolicy")
        for rule in policy["spec"].get("ingress", [])
        for peer in rule.get("from", [])
        if peer.get("namespaceSelector", {})
        .get("matchLabels", {})
        .get("kubernetes.io/metadata.name")
        == "ingress-nginx"
    ]
    assert [p["spec"]["podSelector"] for p in from_ingress] == [
        {"matchLabels": {"app": "gateway-api"}}
    ]
    (ingress,) = of_kind(objects, "Ingress")
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "api.auction-platform.com"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "gateway-api", "port": {"name": "http"}}
    assert ingress["spec"]["tls"][0]["hosts"] == ["api.auction-platform.com"]


def test_the_migration_job_can_be_waited_for() -> None:
    (job,) = load_yaml(MIGRATION_JOB)
    assert (job["kind"], job["metadata"]["name"]) == ("Job", "db-migration")
    assert job["metadata"]["namespace"] == NAMESPACE
    assert "ttlSecondsAfterFinished" not in job["spec"]
    assert job["spec"]["backoffLimit"] >= 1
    app = container(job)
    assert app["command"] == ["auction-platform", "migrate"]
    production = api_deployments(render("overlays/production"))
    assert app["image"] == container(production["bidding"])["image"]
    assert app["envFrom"] == container(production["bidding"])["envFrom"]
    assert app["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_backup_cronjob_runs_the_backup_command() -> None:
    objects = render("overlays/production")
    cronjob = find(objects, "CronJob", "db-backup")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    app = container(cronjob)
    assert app["command"][:2] == ["auction-platform", "backup"]
    assert app["image"] == container(api_deployments(objects)["bidding"])["image"]
    help_text = run(sys.executable, "-m", "auction_platform", "backup", "--help").stdout
    for option in (w for w in app["command"][2:] if w.startswith("--")):
        assert option in help_text
    mounts = {m["mountPath"]: m["name"] for m in app["volumeMounts"]}
    volumes = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]
    claim = next(v for v in volumes if v["name"] == mounts["/backups"])
    find(objects, "PersistentVolumeClaim", claim["persistentVolumeClaim"]["claimName"])


def test_postgres_has_room_for_every_pool_at_full_scale() -> None:
    objects = render("overlays/production")
    config = find(objects, "ConfigMap", "auction-platform-config")["data"]
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    per_pod = int(config.get("DB_POOL_SIZE", defaults.db_pool_size)) + int(
        config.get("DB_MAX_OVERFLOW", defaults.db_max_overflow)
    )
    pods = sum(
        find(objects, "HorizontalPodAutoscaler", f"{APPS[name]}-hpa")["spec"]["maxReplicas"]
        for name, definition in DEFINITIONS.items()
        if definition.uses_database
    )
    args = container(find(objects, "Deployment", "postgres"))["args"]
    max_connections = int(args[args.index("-c") + 1].removeprefix("max_connections="))
    # The migration Job, a backup, on-call's psql sessions and superuser reserve.
    assert pods * per_pod + 20 <= max_connections
