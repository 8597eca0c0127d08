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

"""Status page benchmark: the page's first full render for a large cloud.

A scratch MariaDB database is filled by the engine (``Engine.handle``, as
its RPC endpoint does) from a generated trace: by default 200 nodes x 360
cycles, each node with episodes of warnings, critical hardware, missing
hardware information and silence, and guest panics. vmguard-api serves it
(noauth, a thread of this process) and headless Chromium loads
``/dashboard`` again and again:

* (a) baseline, measured in the same run and the same browser: fetching
  the JSON the page reads (nodes, timeline, decisions), nothing else;
* (b) the page: from navigation start to its first full render (nodes,
  timeline SVG and decisions drawn; ``data-first-render-ms``), and the
  part of it the page spends fetching and drawing (``data-render-ms``).

It reports the medians, the ratio b/a, and (b) against the issue's
target of 1 s. Needs MariaDB (VMGUARD_TEST_MYSQL_URL), Debian's
``chromium`` and ``chromium-driver``, and ``selenium``.
"""

import argparse
import json
import logging
import os
import random
import shutil
import statistics
import tempfile
import threading
import time

from vmguard.bench import common

CHROMIUM = os.environ.get('VMGUARD_TEST_CHROMIUM', '/usr/bin/chromium')
CHROMEDRIVER = os.environ.get('VMGUARD_TEST_CHROMEDRIVER',
                              '/usr/bin/chromedriver')
INTERVAL = 10
KINDS = ('cpu', 'memory', 'memory', 'disk', 'disk', 'nic', 'power', 'fan',
         'temperature', 'memory')
# Episode kinds: hardware health, or no hardware information, or silence.
EPISODES = ('warning', 'critical', 'nohw', 'silent')


def _episodes(rnd, cycles, count):
    """[(first, last, kind)] that do not overlap, in order."""
    out = []
    for _ in range(count):
        length = rnd.randint(3, max(4, cycles // 20))
        first = rnd.randint(5, max(6, cycles - length))
        last = first + length - 1
        if all(last < a - 1 or first > b + 1 for a, b, _k in out):
            out.append((first, last, rnd.choice(EPISODES)))
    return sorted(out)


def generate(nodes=200, cycles=360, items=10, vms=4, episodes=4, seed=17):
    """Yield (cycle, trace line) in cycle order."""
    rnd = random.Random(seed)
    names = ['cmp-%03d' % n for n in range(nodes)]
    plans = {name: _episodes(rnd, cycles, episodes) for name in names}
    panics = {(rnd.choice(names), rnd.randint(2, cycles))
              for _ in range(nodes // 4)}
    for cycle in range(1, cycles + 1):
        for n, name in enumerate(names):
            kind = None
            for first, last, k in plans[name]:
                if first <= cycle <= last:
                    kind = k
                    break
            if kind == 'silent':
                continue
            hardware = []
            if kind != 'nohw':
                for i in range(items):
                    item_kind = KINDS[i % len(KINDS)]
                    health = 'ok'
                    if kind in ('warning', 'critical') and i == 1:
                        health = kind
                    hardware.append({
                        'id': '%s-%d' % (item_kind, i), 'kind': item_kind,
                        'health': health, 'identity': 'SN-%03d-%02d' % (n, i),
                        'identity_path': 'inband'})
            vm_list = []
            for v in range(vms):
                crashed = (name, cycle) in panics and v == 0
                vm_list.append({
                    'uuid': '%08d-0000-4000-8000-%012d' % (n, v),
                    'state': 'crashed' if crashed else 'running',
                    'reason': 'panicked' if crashed else 'booted',
                    'vcpus': 2, 'ram_mb': 2048})
            yield cycle, json.dumps({
                'type': 'snapshot', 'node': name, 'cycle': cycle,
                'collected_at': '2026-11-29T05:00:00Z',
                'hardware': hardware,
                'external': [{'id': 'nfs', 'kind': 'storage',
                              'health': 'ok'}],
                'services': [{'name': 'nova-compute', 'state': 'running'}],
                'capacity': {'vcpus_free': 64, 'ram_mb_free': 256000},
                'vms': vm_list})


class _QueueOnly:
    """Stands for the engine's writer thread: deltas wait for a flush."""

    def notify(self):
        pass


def fill(conf, args):
    """Judge and store the trace through the engine; return counts."""
    from vmguard.engine import service
    from vmguard.objects import records
    engine = service.Engine(conf)
    engine.writer = _QueueOnly()
    cache = {}
    decisions = 0
    current = None
    for cycle, line in generate(args.nodes, args.cycles):
        if cycle != current:
            engine.persister.flush()
            current = cycle
        rec = records.parse_record(json.loads(line), cache)
        decisions += len(engine.handle(rec, now=cycle * INTERVAL))
    engine.persister.flush()
    return decisions


class _Server:
    def __init__(self, conf):
        from vmguard.api import deploy
        from vmguard.cmd import api as api_cmd
        self.server = api_cmd.make_server('127.0.0.1', 0,
                                          deploy.deploy(conf))
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={'poll_interval': 0.05},
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def _browser(profile):
    from selenium import webdriver
    from selenium.webdriver.chrome import service as chrome_service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ('--headless', '--no-sandbox', '--disable-gpu',
                '--disable-background-networking',
                '--disable-component-update', '--disable-sync',
                '--no-first-run', '--disable-dev-shm-usage',
                '--window-size=1400,1000', '--user-data-dir=%s' % profile):
        options.add_argument(arg)
    return webdriver.Chrome(
        service=chrome_service.Service(executable_path=CHROMEDRIVER),
        options=options)


AUTH = {'user': 'bench', 'project': 'bench', 'roles': 'reader'}
HEADERS = {'X-User-Id': 'bench', 'X-Project-Id': 'bench',
           'X-Roles': 'reader', 'Accept': 'application/json',
           'OpenStack-API-Version': 'vmguard 1.2'}
# What the page reads on its first render, as it asks for it.
READS = ('/v1/nodes?limit=1000', '/v1/dashboard/timeline?cycles=360',
         '/v1/decisions?sort_dir=desc&limit=200')

_FETCH = """
var done = arguments[arguments.length - 1];
var headers = arguments[0], paths = arguments[1];
var t0 = performance.now();
Promise.all(paths.map(function (p) {
  return fetch(p, {headers: headers, cache: 'no-store'})
    .then(function (r) { return r.json(); });
})).then(function (bodies) {
  done([performance.now() - t0, JSON.stringify(bodies).length]);
}, function (e) { done([-1, String(e)]); });
"""


def _page_load(browser, url, timeout=60):
    """(navigation to first full render, the page's own fetch + draw)."""
    browser.get(url + '/dashboard')
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = browser.find_element('tag name', 'body')
        value = body.get_attribute('data-first-render-ms')
        if value:
            return float(value), float(body.get_attribute('data-render-ms'))
        time.sleep(0.02)
    raise RuntimeError('the page did not render within %ss' % timeout)


def measure(url, runs):
    profile = tempfile.mkdtemp(prefix='vmguard-bench-chromium-')
    browser = _browser(profile)
    try:
        browser.set_script_timeout(120)
        browser.get(url + '/dashboard')
        browser.execute_script(
            'sessionStorage.setItem("vmguard.dashboard.auth", arguments[0])',
            json.dumps(AUTH))
        # Warm-up: the browser's and the server's first time.
        _page_load(browser, url)
        reads = ['%s' % p for p in READS]
        browser.execute_async_script(_FETCH, HEADERS, reads)
        fetches, pages, inner, size = [], [], [], 0
        for _ in range(runs):
            took, size = browser.execute_async_script(_FETCH, HEADERS,
                                                      reads)
            if took < 0:
                raise RuntimeError('fetching the JSON failed: %s' % size)
            fetches.append(took)
            page, own = _page_load(browser, url)
            pages.append(page)
            inner.append(own)
        shapes = browser.execute_script(
            'return [document.querySelectorAll("rect.band").length,'
            ' document.querySelectorAll("path.marker").length,'
            ' document.querySelectorAll("tr.decision").length,'
            ' document.querySelectorAll("#nodes tbody tr").length];')
        return fetches, pages, inner, size, shapes
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m vmguard.bench dashboard')
    parser.add_argument('--nodes', type=int, default=200)
    parser.add_argument('--cycles', type=int, default=360)
    parser.add_argument('--runs', type=int, default=7)
    args = parser.parse_args(argv)

    from oslo_db.sqlalchemy import engines

    from vmguard import conf as vmg_conf
    from vmguard.db.sqlalchemy import api as sqla_api
    from vmguard import objects
    from vmguard import policy
    conf = vmg_conf.CONF
    conf([], project='vmguard', default_config_files=[])
    # Only errors: the engine logs each decision, the API each request.
    logging.basicConfig(level=logging.ERROR)
    objects.register_all()
    conf.set_override('auth_strategy', 'noauth', group='api')
    conf.set_override('cycle_interval', INTERVAL, group='engine')
    print('dashboard: %d nodes x %d cycles, judged and stored by the engine '
          'on MariaDB' % (args.nodes, args.cycles))
    admin, engine, name, url = common.create_database()
    conf.set_override('connection', url, group='database')
    # oslo.db's engine: its errors are oslo.db's (duplicates, deadlocks).
    db_engine = sqla_api.prepare_engine(engines.create_engine(url))
    restore = sqla_api._CONTEXT.patch_engine(db_engine)
    server = None
    try:
        started = time.monotonic()
        decisions = fill(conf, args)
        print('  filled in %.0fs: %d decisions' % (
            time.monotonic() - started, decisions))
        policy.init(conf)
        server = _Server(conf)
        fetches, pages, inner, size, shapes = measure(server.url,
                                                      args.runs)
        fetch = statistics.median(fetches)
        page = statistics.median(pages)
        print('  page shows %d bands, %d decision markers, %d decisions, '
              '%d nodes; the JSON read is %.0f kB'
              % (shapes[0], shapes[1], shapes[2], shapes[3], size / 1024.0))
        print('(a) fetch the JSON only (same browser): median %6.0f ms  '
              '(%s)' % (fetch, ', '.join('%.0f' % f for f in fetches)))
        print('(b) page load to first full render:    median %6.0f ms  '
              '(%s)' % (page, ', '.join('%.0f' % p for p in pages)))
        print('    of which the page\'s own fetch + draw: median %6.0f ms'
              % statistics.median(inner))
        print('    ratio b/a = %.2f; b %s the 1 s target'
              % (page / fetch, 'meets' if page < 1000 else 'MISSES'))
    finally:
        if server is not None:
            server.stop()
        restore()
        db_engine.dispose()
        common.drop_database(admin, engine, name)
    return 0
