"""Alert rules, their unit tests, the dashboard and the scrape configuration.

Every alert is unit-tested with promtool (it fires when it should and stays quiet when
it should not), carries the severity of the runbook's criticality and links to a real
section of docs/RUNBOOK.md; every metric an alert or the dashboard reads is one the
services really export.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from opstools import (
    APPS,
    DEPLOY,
    PROJECT_RUNBOOK,
    find,
    load_yaml,
    of_kind,
    read_spec_runbook,
    render,
    require_tool,
    run,
)

from auction_platform.settings import SERVICES
from support.platforms import client, embedded_settings, running

ALERTS = DEPLOY / "prometheus" / "alerts.yaml"
ALERT_TESTS = sorted((DEPLOY / "prometheus" / "tests").glob("*.yaml"))
RULE_RESOURCE = DEPLOY / "kubernetes" / "base" / "monitoring" / "prometheus-rule.yaml"
DASHBOARD = DEPLOY / "grafana" / "auction-platform.json"
RUNBOOK_URL = "https://github.com/auction-platform/auction-platform/blob/main/docs/RUNBOOK.md#"
BIDS_PER_SECOND = (
    'rate(http_requests_total{service="bidding",route="/api/v1/auctions/{auction_id}/bids",'
    'status="201"}[1m])'
)
# Series that come from elsewhere than the platform's /metrics, and from where.
EXTERNAL_METRICS = {
    "up": "Prometheus itself, one per scrape target",
    "rabbitmq_queue_messages_ready": "RabbitMQ's Prometheus plugin (/metrics/per-object)",
}
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or"}
_KEYWORDS |= {"unless", "bool", "offset", "inf", "nan"}


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load(ALERTS.read_text())["groups"]
    return groups


def alerting_rules() -> list[dict[str, Any]]:
    return [rule for group in rule_groups() for rule in group["rules"] if "alert" in rule]


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (not functions, labels or keywords)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*", expr):
        if expr[match.end() :].lstrip().startswith("(") or match[0].lower() in _KEYWORDS:
            continue
        names.add(match[0])
    return names


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            match = re.fullmatch(r"label_values\((\w+),\s*\w+\)", query["query"])
            assert match, query
            exprs.append(match[1])
    return exprs


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def criticality(markdown: str) -> dict[str, str]:
    """The runbook's service dependency table: service -> P0..P3."""
    rows = re.findall(r"^\| (\w+) \| [^|]+ \| (P\d) \|$", markdown, flags=re.M)
    return {service.lower(): level for service, level in rows}


def test_promtool_accepts_the_rules_and_the_scrape_config() -> None:
    promtool = require_tool("promtool")
    out = run(promtool, "check", "rules", str(ALERTS)).stdout
    assert f"SUCCESS: {len(alerting_rules())} rules found" in out
    run(promtool, "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml"))


def test_every_alert_passes_its_unit_tests() -> None:
    promtool = require_tool("promtool")
    assert ALERT_TESTS
    out = run(promtool, "test", "rules", *map(str, ALERT_TESTS)).stdout
    assert out.count("SUCCESS") == len(ALERT_TESTS)


def test_every_alert_is_tested_firing_and_quiet() -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in ALERT_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case["alert_rule_test"]:
                (fired if check["exp_alerts"] else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alerting_rules()}
    assert names == fired == quiet
    assert {"HighLatency", "DatabaseConnectionPoolExhausted", "RabbitMQQueueBacklog"} <= names


def test_the_prometheus_rule_resource_holds_the_same_rules() -> None:
    (resource,) = load_yaml(RULE_RESOURCE)
    assert resource["kind"] == "PrometheusRule"
    assert resource["spec"]["groups"] == rule_groups()
    rendered = find(render("overlays/production"), "PrometheusRule", "auction-platform")
    assert rendered["spec"]["groups"] == rule_groups()


def test_severities_follow_the_runbooks_criticality() -> None:
    table = criticality(PROJECT_RUNBOOK.read_text())
    assert set(table) == set(SERVICES)
    spec = read_spec_runbook()
    assert spec is not None
    # The site (web) is not in the specification's table: it was added after it, and
    # only the project's runbook gives it a row. The seven must agree exactly.
    assert criticality(spec) == {s: level for s, level in table.items() if s != "web"}
    for rule in alerting_rules():
        severity = rule["labels"]["severity"]
        assert severity in {"P0", "P1", "P2", "P3"}
        named = set(re.findall(r"\b(" + "|".join(SERVICES) + r")\b", rule["expr"]))
        assert named, rule["alert"]
        assert {table[s] for s in named} == {severity}, (rule["alert"], rule["expr"])


def test_every_alert_links_to_a_runbook_section() -> None:
    anchors = {
        github_anchor(h) for h in re.findall(r"^#+ (.+)$", PROJECT_RUNBOOK.read_text(), re.M)
    }
    for rule in alerting_rules():
        url = rule["annotations"]["runbook_url"]
        assert url.startswith(RUNBOOK_URL), url
        assert url.removeprefix(RUNBOOK_URL) in anchors, url
        assert {"summary", "description"} <= rule["annotations"].keys()
    # Each section names the alerts it handles, so on-call finds it by the alert's name.
    runbook = PROJECT_RUNBOOK.read_text()
    for name in {rule["alert"] for rule in alerting_rules()}:
        assert f"`{name}`" in runbook, name


def test_the_metric_name_reader() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (service, le) (rate(http_request_duration_seconds_bucket"
        '{service=~"a|b"}[5m]))) > 1 and on (service) db_pool_in_use / db_pool_max offset 5m'
    )
    names = metric_names(expr)
    assert names == {"http_request_duration_seconds_bucket", "db_pool_in_use", "db_pool_max"}
    assert metric_names("max(bidding_overdue_books) > 1e3") == {"bidding_overdue_books"}


async def test_alerts_and_dashboard_read_only_metrics_the_services_export(
    tmp_path: Path,
) -> None:
    async with running(embedded_settings(tmp_path), SERVICES, embedded=True) as platform:
        async with client(platform.apps["gateway"]) as http:
            assert (await http.get("/health")).status_code in {200, 503}
            scraped = await http.get("/metrics")
        assert scraped.status_code == 200
        exposition = scraped.text
        routes = platform.apps["bidding"].openapi()["paths"]
    exported: set[str] = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", exposition, flags=re.M):
        suffixes = {"histogram": ["_bucket", "_sum", "_count", "_created"]}.get(kind, [""])
        exported |= {name + suffix for suffix in suffixes}
        if kind == "counter":
            exported.add(name + "_total" if not name.endswith("_total") else name)
    used = {n for expr in [r["expr"] for r in alerting_rules()] for n in metric_names(expr)}
    used |= {n for expr in dashboard_exprs() for n in metric_names(expr)}
    assert used - exported == set(EXTERNAL_METRICS)
    assert "/api/v1/auctions/{auction_id}/bids" in routes


def test_the_dashboard_shows_what_the_runbook_watches() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    exprs = dashboard_exprs()
    assert any(BIDS_PER_SECOND in e for e in exprs)
    for needle in (
        "http_requests_total",
        "histogram_quantile(0.5,",
        "histogram_quantile(0.95,",
        "histogram_quantile(0.99,",
        "db_pool_in_use",
        "rabbitmq_queue_messages_ready",
        "outbox_oldest_pending_seconds",
    ):
        assert any(needle in e for e in exprs), needle
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_scrape_targets_cover_every_service_and_rabbitmq() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {*APPS.values(), "rabbitmq"}
    assert jobs["rabbitmq"]["metrics_path"] == "/metrics/per-object"
    objects = render("overlays/production")
    monitors = {m["metadata"]["name"]: m for m in of_kind(objects, "ServiceMonitor")}
    services = monitors["auction-platform-services"]
    selected = [
        s["metadata"]["name"]
        for s in of_kind(objects, "Service")
        if services["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
    ]
    assert sorted(selected) == sorted(APPS.values())
    endpoint = services["spec"]["endpoints"][0]
    assert (endpoint["port"], endpoint["path"]) == ("http", "/metrics")
    rabbitmq = monitors["rabbitmq"]["spec"]["endpoints"][0]
    assert rabbitmq["path"] == "/metrics/per-object"
    ports = [p["name"] for p in find(objects, "Service", "rabbitmq")["spec"]["ports"]]
    assert rabbitmq["port"] in ports
