"""Prometheus metrics: one registry per process, every series labelled by service."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from auction_platform.core.db import PoolStats
from auction_platform.core.outbox import OutboxRelay

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _PoolCollector(Collector):
    """Reads each service's pool statistics at scrape time."""

    def __init__(self) -> None:
        self.sources: dict[str, Callable[[], PoolStats]] = {}

    def collect(self) -> Iterable[Metric]:
        families = {
            "size": GaugeMetricFamily(
                "db_pool_size", "Connections the pool keeps open", labels=["service"]
            ),
            "max": GaugeMetricFamily(
                "db_pool_max",
                "Most connections the pool may open (size + overflow)",
                labels=["service"],
            ),
            "in_use": GaugeMetricFamily(
                "db_pool_in_use", "Connections checked out", labels=["service"]
            ),
            "waiting": GaugeMetricFamily(
                "db_pool_waiting", "Tasks waiting for a connection", labels=["service"]
            ),
        }
        opened = CounterMetricFamily(
            "db_pool_connections_opened",
            "Connections the pool has opened; climbing under steady load means churn",
            labels=["service"],
        )
        for service, read in self.sources.items():
            stats = read()
            for field, family in families.items():
                family.add_metric([service], float(getattr(stats, field)))
            opened.add_metric([service], float(stats.opened))
        yield from families.values()
        yield opened


class _OutboxCollector(Collector):
    """Reads each relay's backlog figures at scrape time."""

    def __init__(self) -> None:
        self.relays: dict[str, OutboxRelay] = {}

    def collect(self) -> Iterable[Metric]:
        pending = GaugeMetricFamily(
            "outbox_pending_events", "Committed events not yet published", labels=["service"]
        )
        age = GaugeMetricFamily(
            "outbox_oldest_pending_seconds",
            "Age of the oldest unpublished event",
            labels=["service"],
        )
        for service, relay in self.relays.items():
            pending.add_metric([service], float(relay.pending))
            age.add_metric([service], relay.oldest_pending_age)
        yield pending
        yield age


class _ConsumerCollector(Collector):
    """Reads, at scrape time, which consumed queues wait for a dependency that is down."""

    def __init__(self) -> None:
        self.sources: list[Callable[[], Mapping[str, float | None]]] = []

    def collect(self) -> Iterable[Metric]:
        paused = GaugeMetricFamily(
            "consumer_paused",
            "1 while a queue's consumers wait for a dependency that is down, else 0",
            labels=["service", "queue"],
        )
        seconds = GaugeMetricFamily(
            "consumer_paused_seconds",
            "How long a queue's consumers have waited for a dependency (0 while flowing)",
            labels=["service", "queue"],
        )
        for read in self.sources:
            for queue, waited in read().items():
                labels = [queue.split(".", 1)[0], queue]  # queues are <service>.<consumer>
                paused.add_metric(labels, 0.0 if waited is None else 1.0)
                seconds.add_metric(labels, waited or 0.0)
        yield paused
        yield seconds


class Metrics:
    """The process's metrics; built once in the composition root."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests answered",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.request_duration = Histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["service", "method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.events_consumed = Counter(
            "events_consumed_total",
            "Events handled by consumers, by outcome (handled, duplicate, failed, unavailable:"
            " a dependency was down)",
            ["service", "consumer", "outcome"],
            registry=self.registry,
        )
        self._gauges: dict[str, Gauge] = {}
        self._counters: dict[str, Counter] = {}
        self._pools = _PoolCollector()
        self._outboxes = _OutboxCollector()
        self._consumers = _ConsumerCollector()
        self.registry.register(self._pools)
        self.registry.register(self._outboxes)
        self.registry.register(self._consumers)

    def gauge(self, name: str, documentation: str) -> Gauge:
        """A service's own gauge, labelled by service; made once, then reused."""
        existing = self._gauges.get(name)
        if existing is None:
            existing = Gauge(name, documentation, ["service"], registry=self.registry)
            self._gauges[name] = existing
        return existing

    def counter(self, name: str, documentation: str, labels: tuple[str, ...] = ()) -> Counter:
        """A service's own counter, labelled by service and ``labels``; made once, then reused."""
        existing = self._counters.get(name)
        if existing is None:
            existing = Counter(name, documentation, ["service", *labels], registry=self.registry)
            self._counters[name] = existing
        return existing

    def watch_pool(self, service: str, read: Callable[[], PoolStats]) -> None:
        """Export a service's pool statistics."""
        self._pools.sources[service] = read

    def watch_outbox(self, service: str, relay: OutboxRelay) -> None:
        """Export a service's outbox backlog."""
        self._outboxes.relays[service] = relay

    def watch_consumers(self, read: Callable[[], Mapping[str, float | None]]) -> None:
        """Export which consumed queues are paused (``Broker.pauses``), and for how long."""
        self._consumers.sources.append(read)

    def observe_request(
        self, *, service: str, method: str, route: str, status: int, seconds: float
    ) -> None:
        """Count one answered request and its duration."""
        labels = (service, method, route, str(status))
        self.requests.labels(*labels).inc()
        self.request_duration.labels(*labels).observe(seconds)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
