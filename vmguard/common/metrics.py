# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Prometheus metrics of vmguard-engine and vmguard-agent.

One registry per process (:data:`REGISTRY`), served as text on
``GET /metrics`` by :func:`serve` (``[metrics]`` options). What is
measured:

Engine

* ``vmguard_engine_records_received_total{kind}`` -- snapshots and crash
  events taken by the RPC endpoint; ``vmguard_engine_records_rejected_total
  {kind}`` -- those rejected as bad input. Read from the endpoint's own
  counters at scrape time.
* ``vmguard_engine_judge_backlog`` -- records waiting for the judge thread.
* ``vmguard_engine_decisions_total{rule,action}`` -- decisions stored.
* ``vmguard_engine_recoveries_total{outcome}`` -- recoveries finished, by
  final status (``succeeded``, ``failed``, ``escalated``, ``skipped``...).
* ``vmguard_engine_crash_to_decision_seconds`` -- from the crash being
  reported (the snapshot's ``collected_at``, agent clock; a crash event:
  its intake by the engine) to its decisions being stored.
* ``vmguard_engine_decision_to_nova_accepted_seconds`` -- from the
  decision to Nova accepting the recovery's action (the recovery
  executor's ``accepted_after``).

Agent

* ``vmguard_agent_collector_duration_seconds{collector}`` -- one
  collector's run in a cycle; ``vmguard_agent_collector_failures_total
  {collector}`` -- runs that failed or overran ``collector_timeout``.
* ``vmguard_agent_buffer_depth`` -- messages waiting for the broker.

The hooks (``decision_stored``, ``recovery_finished``, ``nova_accepted``,
``crash_to_decision``, ``collectors_timed``) never raise: a metric must
not cost a record or a recovery.
"""

import datetime
import threading
import time

from oslo_log import log as logging
import prometheus_client
from prometheus_client import core as prom_core

LOG = logging.getLogger(__name__)

REGISTRY = prometheus_client.CollectorRegistry(auto_describe=True)

# Seconds: crash -> decision is sub-second to a few cycles; decision ->
# Nova accepted includes fencing (BMC power-off) for R9.
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300,
                    600)
_COLLECTOR_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)

DECISIONS = prometheus_client.Counter(
    'vmguard_engine_decisions', 'Decisions stored, by rule and action.',
    ['rule', 'action'], registry=REGISTRY)
RECOVERIES = prometheus_client.Counter(
    'vmguard_engine_recoveries', 'Recoveries finished, by outcome.',
    ['outcome'], registry=REGISTRY)
CRASH_TO_DECISION = prometheus_client.Histogram(
    'vmguard_engine_crash_to_decision_seconds',
    'From a crash being reported to its decisions being stored.',
    buckets=_LATENCY_BUCKETS, registry=REGISTRY)
DECISION_TO_NOVA = prometheus_client.Histogram(
    'vmguard_engine_decision_to_nova_accepted_seconds',
    'From a decision to Nova accepting its recovery action.',
    buckets=_LATENCY_BUCKETS, registry=REGISTRY)
COLLECTOR_DURATION = prometheus_client.Histogram(
    'vmguard_agent_collector_duration_seconds',
    'Duration of one collector run in a cycle.', ['collector'],
    buckets=_COLLECTOR_BUCKETS, registry=REGISTRY)
COLLECTOR_FAILURES = prometheus_client.Counter(
    'vmguard_agent_collector_failures',
    'Collector runs that failed or overran collector_timeout.',
    ['collector'], registry=REGISTRY)

_sources_lock = threading.Lock()


def _safe(func):
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception:
            LOG.debug('Metric hook %s failed', func.__name__, exc_info=True)
            return None
    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


@_safe
def decision_stored(row):
    """A decision row was stored (new, not a duplicate)."""
    DECISIONS.labels(rule=row.rule or 'unknown',
                     action=row.action or 'unknown').inc()


@_safe
def recovery_finished(status):
    """A recovery ended with ``status`` (None: left pending)."""
    if status is not None:
        RECOVERIES.labels(outcome=status).inc()


@_safe
def nova_accepted(seconds_after_decision):
    DECISION_TO_NOVA.observe(max(0.0, float(seconds_after_decision)))


def _epoch(iso):
    text = iso.replace('Z', '+00:00')
    stamp = datetime.datetime.fromisoformat(text)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return stamp.timestamp()


@_safe
def crash_to_decision(rec, decisions, intake, now=None):
    """Decisions about crashed VMs were stored for record ``rec``, taken
    in by the engine at ``intake`` (epoch seconds)."""
    if not any(getattr(d, 'vm', None) for d in decisions):
        return
    now = time.time() if now is None else now
    start = intake
    collected_at = getattr(rec, 'collected_at', None)
    if collected_at:
        try:
            start = min(intake, _epoch(collected_at))
        except (TypeError, ValueError):
            pass
    CRASH_TO_DECISION.observe(max(0.0, now - start))


@_safe
def collectors_timed(timings):
    """``{collector: seconds, or None when it failed or overran}``."""
    for name, took in timings.items():
        if took is None:
            COLLECTOR_FAILURES.labels(collector=name).inc()
        else:
            COLLECTOR_DURATION.labels(collector=name).observe(took)


class _EngineCollector:
    """The RPC endpoint's counters and the judge backlog, at scrape."""

    def __init__(self, engine_service):
        self.service = engine_service

    def collect(self):
        stats = {}
        backlog = 0
        try:
            stats = dict(self.service.stats())
            engine = self.service.engine
            backlog = engine.backlog() if engine is not None else 0
        except Exception:
            LOG.debug('Engine statistics not readable', exc_info=True)
        received = prom_core.CounterMetricFamily(
            'vmguard_engine_records_received',
            'Records taken by the engine\'s RPC endpoint, by kind.',
            labels=['kind'])
        received.add_metric(['snapshot'], stats.get('snapshots', 0))
        received.add_metric(['vm_event'], stats.get('events', 0))
        yield received
        rejected = prom_core.CounterMetricFamily(
            'vmguard_engine_records_rejected',
            'Records rejected as bad input, by kind.', labels=['kind'])
        for key, value in sorted(stats.items()):
            if key.startswith('rejected_'):
                rejected.add_metric([key[len('rejected_'):]], value)
        yield rejected
        yield prom_core.GaugeMetricFamily(
            'vmguard_engine_judge_backlog',
            'Records waiting for the judge thread.', value=backlog)

    def describe(self):
        return []


class _AgentCollector:
    def __init__(self, agent_manager):
        self.manager = agent_manager

    def collect(self):
        try:
            depth = self.manager.buffered()
        except Exception:
            depth = 0
        yield prom_core.GaugeMetricFamily(
            'vmguard_agent_buffer_depth',
            'Snapshots and events waiting for the broker.', value=depth)

    def describe(self):
        return []


_SOURCES = {}


def _register_source(name, collector):
    with _sources_lock:
        old = _SOURCES.pop(name, None)
        if old is not None:
            REGISTRY.unregister(old)
        REGISTRY.register(collector)
        _SOURCES[name] = collector


def watch_engine(engine_service):
    _register_source('engine', _EngineCollector(engine_service))


def watch_agent(agent_manager):
    _register_source('agent', _AgentCollector(agent_manager))


def serve(conf, port):
    """Serve :data:`REGISTRY` on ``[metrics] host_ip``:``port`` in a daemon
    thread. Returns the (host, port) bound, or None when disabled or the
    port cannot be bound (logged: the daemon runs on without metrics)."""
    if not conf.metrics.enabled:
        return None
    try:
        server, _thread = prometheus_client.start_http_server(
            port, addr=conf.metrics.host_ip, registry=REGISTRY)
    except OSError as exc:
        LOG.error('Metrics endpoint not served: cannot listen on %s:%s: '
                  '%s', conf.metrics.host_ip, port, exc)
        return None
    host, bound = server.server_address[:2]
    LOG.info('Prometheus metrics on http://%s:%s/metrics', host, bound)
    return host, bound
