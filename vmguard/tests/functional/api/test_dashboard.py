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

"""The status page in a real headless Chromium against a real vmguard-api.

The database (a fresh MariaDB database) is filled by the engine
(:class:`vmguard.engine.service.Engine`, what the RPC endpoint calls) from
a trace replayed record by record, with the recovery executor on the fake
compute back end: the demo's three phases (a guest panic on a healthy
node, a PSU failure with a guest crash, a disk seen only by the BMC), then
a degraded node, a node without hardware information and a silent node.
The browser then shows what the page draws from the API: bands, decision
markers, a cycle's items not ok, a decision's evidence, a recovery's
status and Nova actions, the rule filter, and live refresh. The
screenshot is saved in a temporary directory whose path the test prints,
and attached to the test's details.

Needs Debian's ``chromium`` and ``chromium-driver`` (a missing browser is
an error, not a skip) and ``selenium``.
"""

import json
import os
import shutil
import sys
import tempfile
import time

from testtools import content

from vmguard.common import context as vmg_context
from vmguard.compute import fake
from vmguard.db import api as db_api
from vmguard.engine import recovery as recovery_mod
from vmguard.engine import service
from vmguard import objects
from vmguard.objects import records
from vmguard.tests.functional.api import base
from vmguard.tests.functional.api import keystone_stub

CHROMIUM = os.environ.get('VMGUARD_TEST_CHROMIUM', '/usr/bin/chromium')
CHROMEDRIVER = os.environ.get('VMGUARD_TEST_CHROMEDRIVER',
                              '/usr/bin/chromedriver')
# Read at import: the test base class points tempfile at a directory that
# is deleted when the test ends; the screenshots must outlive it.
ARTIFACTS = (os.environ.get('VMGUARD_TEST_ARTIFACTS')
             or tempfile.gettempdir())
NODES = ('cmp-a', 'cmp-b', 'cmp-c', 'cmp-d')
LAST = 30
INTERVAL = 10


def vm_of(node, n=0):
    return '%08x-0000-4000-8000-%012d' % (NODES.index(node) + 1, n)


def _snapshot(node, cycle, hardware, vms):
    return {'type': 'snapshot', 'node': node, 'cycle': cycle,
            'collected_at': '2026-11-29T05:00:00Z',
            'hardware': hardware,
            'external': [{'id': 'nfs-instances', 'kind': 'storage',
                          'health': 'ok'}],
            'services': [{'name': 'nova-compute', 'state': 'running'}],
            'capacity': {'vcpus_free': 60, 'ram_mb_free': 200000 - 1000 *
                         NODES.index(node)},
            'vms': [{'uuid': u, 'state': s, 'reason': r, 'vcpus': 2,
                     'ram_mb': 2048} for u, s, r in vms]}


def trace_record(node, cycle):
    """One node's snapshot of one cycle (None: the node is silent)."""
    hw = [
        {'id': 'dimm-A1', 'kind': 'memory', 'health': 'ok',
         'identity': 'SN-%s-A1' % node, 'identity_path': 'inband'},
        {'id': 'disk-sdb', 'kind': 'disk', 'health': 'ok',
         'identity': 'WWN-%s-sdb' % node, 'identity_path': 'inband'},
        {'id': 'psu-1', 'kind': 'power', 'health': 'ok'},
    ]
    vms = [(vm_of(node, 0), 'running', 'booted'),
           (vm_of(node, 1), 'running', 'booted')]
    if node == 'cmp-a':
        if cycle == 8:
            # Phase 1: guest panic on a healthy node -> R1 reboot.
            vms[0] = (vm_of(node, 0), 'crashed', 'panicked')
        if cycle in (27, 28):
            hw = []          # no hardware information: unknown
    elif node == 'cmp-b':
        if 14 <= cycle <= 19:
            # Phase 2: PSU failure and a guest crash -> R3 + R4.
            hw[2]['health'] = 'critical'
        if cycle == 14:
            vms[0] = (vm_of(node, 0), 'crashed', 'panicked')
        if cycle >= 15:
            vms = vms[:0]    # its VMs were moved away
    elif node == 'cmp-c':
        if 18 <= cycle <= 21:
            # Phase 3: the disk is seen only by the BMC -> R5.
            hw[1]['identity_path'] = 'oob'
        if 24 <= cycle <= 26:
            hw[0]['health'] = 'warning'
    elif node == 'cmp-d' and cycle > 22:
        return None          # silent from cycle 23 -> R9 at 25
    return _snapshot(node, cycle, hw, vms)


def trace_lines(first=1, last=LAST):
    for cycle in range(first, last + 1):
        for node in NODES:
            record = trace_record(node, cycle)
            if record is not None:
                yield json.dumps(record)


# Bands the page must draw: node -> [(first, last, state)].
EXPECTED_BANDS = {
    'cmp-a': [(1, 26, 'normal'), (27, 28, 'unknown'), (29, 30, 'normal')],
    'cmp-b': [(1, 13, 'normal'), (14, 19, 'failed'), (20, 30, 'normal')],
    'cmp-c': [(1, 23, 'normal'), (24, 26, 'degraded'), (27, 30, 'normal')],
    'cmp-d': [(1, 22, 'normal'), (23, 30, 'silent')],
}


class _SyncRecovery(service.DirectRecovery):
    """Run each new decision's recovery at once, in the judging thread."""

    def submit(self, row):
        return self.run(row)


def _require_browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p,
                                                                   os.X_OK)]
    if missing:
        raise AssertionError(
            'The status page test needs a headless Chromium and its driver '
            '(missing: %s). Install them with: apt-get install -y chromium '
            'chromium-driver' % ', '.join(missing))


def start_browser(profile_dir):
    """Headless Chromium through chromedriver, with a fresh profile."""
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome import service as chrome_service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ('--headless', '--no-sandbox', '--disable-gpu',
                '--disable-background-networking',
                '--disable-component-update', '--disable-sync',
                '--no-first-run', '--disable-dev-shm-usage',
                '--window-size=1400,1700',
                '--user-data-dir=%s' % profile_dir):
        options.add_argument(arg)
    return webdriver.Chrome(
        service=chrome_service.Service(executable_path=CHROMEDRIVER),
        options=options)


class TestDashboard(base.APITestCase):

    seed = False

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.flags(group='recovery', dry_run=False, poll_interval=0.05)
        self.flags(group='engine', cycle_interval=INTERVAL)
        self.flags(host='engine-dashboard-ft')
        self.driver = fake.FakeComputeDriver()
        for node in NODES:
            self.driver.add_host(node)
            for n in range(2):
                self.driver.add_server(vm_of(node, n), node, vcpus=2,
                                       ram_mb=2048)
        self.ctx = vmg_context.get_admin_context()
        executor = recovery_mod.RecoveryExecutor(driver=self.driver,
                                                 owner='engine-dashboard-ft')
        self.engine = service.Engine(self.conf, context=self.ctx)
        self.engine.recovery = _SyncRecovery(executor, self.engine.notifier)
        os.makedirs(ARTIFACTS, exist_ok=True)
        self.artifacts = tempfile.mkdtemp(prefix='vmguard-dashboard-ft-',
                                          dir=ARTIFACTS)
        sys.stderr.write('\nstatus page test artifacts: %s\n'
                         % self.artifacts)
        self.replay(trace_lines())

    def replay(self, lines):
        """Feed trace lines to the engine as its RPC endpoint does."""
        path = os.path.join(self.artifacts, 'trace.jsonl')
        cache = {}
        with open(path, 'a') as f:
            for line in lines:
                f.write(line + '\n')
                record = records.parse_record(json.loads(line), cache)
                self.engine.handle(record, now=record.cycle * INTERVAL)
        self.engine.persister.flush()

    def open_page(self):
        profile = tempfile.mkdtemp(prefix='vmguard-chromium-')
        self.addCleanup(shutil.rmtree, profile, True)
        browser = start_browser(profile)
        self.addCleanup(browser.quit)
        browser.set_page_load_timeout(30)
        browser.get(self.api.url + '/dashboard')
        return browser

    def wait(self, browser, predicate, what, timeout=20):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                value = predicate()
            except Exception as exc:   # element not there yet
                value, last = None, exc
            if value:
                return value
            time.sleep(0.1)
        self.screenshot(browser, 'timeout')
        raise AssertionError('timed out after %ss waiting for %s (%s)'
                             % (timeout, what, last))

    def screenshot(self, browser, name):
        path = os.path.join(self.artifacts, '%s.png' % name)
        browser.execute_script('window.scrollTo(0, 0);')
        browser.save_screenshot(path)
        with open(path, 'rb') as f:
            data = f.read()
        self.addDetail('screenshot-%s' % name, content.Content(
            content.ContentType('image', 'png'), lambda: [data]))
        sys.stderr.write('status page screenshot: %s\n' % path)
        return path

    def sign_in(self, browser, roles='reader'):
        from selenium.webdriver.common.by import By
        self.wait(browser, lambda: browser.find_element(
            By.ID, 'login-form').is_displayed(), 'the sign-in form')
        browser.find_element(By.ID, 'login-user').send_keys('rita')
        browser.find_element(By.ID, 'login-project').send_keys('ops')
        roles_box = browser.find_element(By.ID, 'login-roles')
        roles_box.clear()
        roles_box.send_keys(roles)
        browser.find_element(By.ID, 'login-submit').click()

    def renders(self, browser):
        return int(browser.find_element('tag name', 'body')
                   .get_attribute('data-renders') or 0)

    def bands(self, browser):
        found = {}
        for rect in browser.find_elements('css selector', 'rect.band'):
            found.setdefault(rect.get_attribute('data-node'), []).append((
                int(rect.get_attribute('data-from')),
                int(rect.get_attribute('data-to')),
                rect.get_attribute('data-state')))
        return {k: sorted(v) for k, v in found.items()}

    def decision_row(self, browser, rule, action, node):
        for row in browser.find_elements('css selector', 'tr.decision'):
            cells = [c.text for c in row.find_elements('tag name', 'td')]
            if cells[1:4] == [node, rule, action]:
                return row
        return None

    def api_decision(self, rule, action, node):
        resp = self.get('/v1/decisions?rule=%s&action=%s&node=%s'
                        % (rule, action, node))
        self.assertEqual(200, resp.status_code, resp.text)
        decisions = resp.json()['decisions']
        self.assertEqual(1, len(decisions), decisions)
        return decisions[0]

    def test_page_shows_states_decisions_and_recoveries(self):
        from selenium.webdriver.common import action_chains
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import select as selenium_select
        browser = self.open_page()
        self.sign_in(browser)
        self.wait(browser, lambda: self.renders(browser) >= 1,
                  'the first render')
        browser.execute_script('window.vmguardNotReloaded = true;')
        # No polling while the page is inspected: only the test's clicks
        # change it (the live refresh is checked at the end).
        selenium_select.Select(browser.find_element(
            By.ID, 'refresh')).select_by_value('0')
        self.wait(browser, lambda: browser.find_element(
            By.TAG_NAME, 'body').get_attribute('data-busy') == 'false',
            'the end of any refresh')

        # Bands: the host state of every cycle, silence included.
        self.assertEqual(EXPECTED_BANDS, self.bands(browser))

        # Decision markers where decisions were made.
        markers = sorted(
            (m.get_attribute('data-node'), int(m.get_attribute(
                'data-cycle')), m.get_attribute('data-rule'))
            for m in browser.find_elements('css selector', 'path.marker'))
        for expected in (('cmp-a', 8, 'R1'), ('cmp-b', 14, 'R3'),
                         ('cmp-b', 14, 'R4'), ('cmp-c', 20, 'R5'),
                         ('cmp-d', 25, 'R9')):
            self.assertIn(expected, markers)

        # Nodes overview: cmp-b disabled by vmguard (R4), cmp-c (R5).
        rows = {r.get_attribute('data-node'): [
            c.text for c in r.find_elements('tag name', 'td')]
            for r in browser.find_elements('css selector', '#nodes tbody tr')}
        self.assertEqual(set(NODES), set(rows))
        self.assertTrue(rows['cmp-b'][2].startswith('yes'), rows['cmp-b'])
        self.assertEqual('no', rows['cmp-a'][2])
        self.assertEqual(str(LAST), rows['cmp-a'][6])
        self.assertEqual('22', rows['cmp-d'][6])
        self.assertIn('silent since 23', rows['cmp-d'][1])
        self.assertNotIn('silent', rows['cmp-a'][1])

        # Clicking the failed band of cmp-b shows what was not ok.
        band = browser.find_element(
            By.CSS_SELECTOR, 'rect.band[data-node="cmp-b"]'
            '[data-state="failed"]')
        # Hovering names the band.
        action_chains.ActionChains(browser).move_to_element(band).perform()
        self.wait(browser, lambda: browser.find_element(
            By.ID, 'timeline-tip').text == 'cmp-b: failed, cycles 14\u201319',
            'the tooltip of the failed band')
        band.click()
        detail = self.wait(browser, lambda: browser.find_element(
            By.ID, 'cycle-detail') if browser.find_element(
                By.ID, 'cycle-detail').is_displayed() else None,
            'the cycle detail')
        self.assertIn('psu-1 (power): critical', detail.text)
        cycle = int(detail.get_attribute('data-cycle'))
        self.assertTrue(14 <= cycle <= 19, cycle)

        # A decision's evidence and its recovery, as the API has them.
        r3 = self.api_decision('R3', 'evacuate', 'cmp-b')
        self.decision_row(browser, 'R3', 'evacuate', 'cmp-b').click()
        evidence = self.wait(browser, lambda: browser.find_element(
            By.CSS_SELECTOR, '#decision-detail pre.evidence'),
            'the evidence of R3')
        self.assertEqual(r3['evidence'], json.loads(evidence.text))
        recovery = self.get('/v1/recoveries/%s'
                            % r3['recovery']['uuid']).json()['recovery']
        self.assertEqual('succeeded', recovery['status'])
        status = browser.find_element(
            By.CSS_SELECTOR, '#decision-detail .recovery-detail-status')
        self.assertEqual(recovery['status'], status.text)
        request_ids = [c.text for c in browser.find_elements(
            By.CSS_SELECTOR, '#decision-detail td.request-id')]
        self.assertEqual([a['request_id'] for a in recovery['actions']],
                         request_ids)
        self.assertTrue(request_ids and all(
            r.startswith('req-') for r in request_ids), request_ids)
        self.screenshot(browser, 'dashboard')

        # Clicking a marker opens its decision.
        r1 = self.api_decision('R1', 'reboot', 'cmp-a')
        browser.find_element(
            By.CSS_SELECTOR, 'path.marker[data-decision="%s"]'
            % r1['uuid']).click()
        self.wait(browser, lambda: r1['reason'] in browser.find_element(
            By.ID, 'decision-detail').text, 'the R1 decision')
        self.assertEqual(
            'succeeded', self.decision_row(
                browser, 'R1', 'reboot', 'cmp-a').find_element(
                    By.CSS_SELECTOR, 'td.recovery-status').text)

        # Filter by rule: only R4's decisions are listed.
        selenium_select.Select(browser.find_element(
            By.ID, 'filter-rule')).select_by_value('R4')
        self.wait(browser, lambda: {
            r.get_attribute('data-rule') for r in browser.find_elements(
                By.CSS_SELECTOR, 'tr.decision')} == {'R4'},
            'only R4 decisions listed')

        # Live refresh: a new cycle in which cmp-c fails shows up.
        selenium_select.Select(browser.find_element(
            By.ID, 'refresh')).select_by_value('2000')
        before = self.renders(browser)
        extra = trace_record('cmp-c', LAST + 1)
        extra['hardware'][2]['health'] = 'critical'
        self.replay([json.dumps(extra)] + [
            json.dumps(trace_record(n, LAST + 1)) for n in NODES
            if n not in ('cmp-c', 'cmp-d')])
        self.wait(browser, lambda: (LAST + 1, LAST + 1, 'failed') in
                  self.bands(browser).get('cmp-c', ()),
                  'the failed cycle %d of cmp-c' % (LAST + 1))
        self.assertGreater(self.renders(browser), before)
        self.assertTrue(browser.execute_script(
            'return window.vmguardNotReloaded === true;'))
        self.wait(browser, lambda: {
            r.get_attribute('data-node') for r in browser.find_elements(
                By.CSS_SELECTOR, 'tr.decision')} == {'cmp-b', 'cmp-c'},
            'the new R4 decision of cmp-c')

    def test_policy_applies_to_the_page_data(self):
        # The page's files are public and hold no data.
        page = self.request('GET', '/dashboard')
        self.assertEqual(200, page.status_code)
        self.assertEqual('text/html', page.headers['Content-Type']
                         .split(';')[0])
        self.assertIn("script-src 'self'",
                      page.headers['Content-Security-Policy'])
        for name in NODES:
            self.assertNotIn(name, page.text)
        script = self.request('GET', '/dashboard/static/dashboard.js')
        self.assertEqual(200, script.status_code)
        self.assertNotIn('cmp-', script.text)
        for path in ('/dashboard/static/..%2fhandler.py',
                     '/dashboard/static/nothing.js'):
            self.assertIn(self.request('GET', path).status_code,
                          (401, 404), path)
        # Its data needs a token and the reader role.
        self.assertError(self.request('GET', '/v1/dashboard/timeline'),
                         401)
        self.assertError(self.get('/v1/dashboard/timeline',
                                  headers=base.MEMBER, version='1.2'), 403)
        self.assertError(self.get('/v1/dashboard/nodes/cmp-a/cycles/3',
                                  headers=base.MEMBER, version='1.2'), 403)
        # Microversion 1.2 and later only.
        self.assertError(self.get('/v1/dashboard/timeline',
                                  headers=base.READER), 404)
        body = self.get('/v1/dashboard/timeline?cycles=10',
                        headers=base.READER, version='1.2').json()
        self.assertEqual((21, 30), (body['since_cycle'],
                                    body['until_cycle']))
        # A range that ends before it starts is refused.
        self.assertError(self.get('/v1/dashboard/timeline?since_cycle=9&'
                                  'until_cycle=3', version='1.2'), 400)

    def test_browser_shows_a_refused_token(self):
        browser = self.open_page()
        self.sign_in(browser, roles='member')
        self.wait(browser, lambda: '403' in browser.find_element(
            'id', 'nodes-error').text, 'the 403 of the nodes list')
        self.assertEqual([], browser.find_elements('css selector',
                                                   'rect.band'))
        self.assertIn('403', browser.find_element(
            'id', 'timeline-error').text)


class TestDashboardWithKeystone(keystone_stub.KeystoneMixin,
                                base.APITestCase):
    """The page with a Keystone token, through keystonemiddleware."""

    auth_strategy = 'keystone'

    # As Keystone: a project member's token also carries the implied
    # reader role (refused: cloud-wide data); the reader's token is
    # system-scoped (allowed).
    TOKENS = {'reader-token': (['reader'], True),
              'member-token': (['member', 'reader'], False)}

    def configure(self):
        self.use_keystone(self.TOKENS)
        # Pages of one node: the page must follow the "next" links.
        self.flags(group='api', max_limit=1)

    def sign_in(self, browser, token):
        self.wait(lambda: browser.find_element(
            'id', 'login-form').is_displayed(), 'the sign-in form')
        browser.find_element('id', 'login-token').send_keys(token)
        browser.find_element('id', 'login-submit').click()

    def wait(self, predicate, what, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if predicate():
                    return
            except Exception:   # element not there yet
                pass
            time.sleep(0.1)
        raise AssertionError('timed out waiting for %s' % what)

    def test_token_kept_in_the_tab_and_checked_by_keystone(self):
        profile = tempfile.mkdtemp(prefix='vmguard-chromium-')
        self.addCleanup(shutil.rmtree, profile, True)
        browser = start_browser(profile)
        self.addCleanup(browser.quit)
        browser.get(self.api.url + '/dashboard')
        # A token Keystone does not know: back to the sign-in form.
        self.sign_in(browser, 'forged-token')
        self.wait(lambda: '401' in browser.find_element(
            'id', 'login-error').text, 'the 401 of a forged token')
        self.assertIsNone(browser.execute_script(
            'return sessionStorage.getItem("vmguard.dashboard.auth");'))
        # A member's token: signed in, but the policy refuses the data.
        self.sign_in(browser, 'member-token')
        self.wait(lambda: '403' in browser.find_element(
            'id', 'nodes-error').text, 'the 403 of the nodes list')
        self.assertEqual([], browser.find_elements('css selector',
                                                   '#nodes tbody tr'))
        # A reader's token: the data, kept in this tab only.
        browser.find_element('id', 'logout').click()
        self.sign_in(browser, 'reader-token')
        names = sorted(n.name for n in db_api.node_list(self.context))
        self.assertGreater(len(names), 1)
        self.wait(lambda: [r.get_attribute('data-node') for r in
                           browser.find_elements('css selector',
                                                 '#nodes tbody tr')]
                  == names, 'the nodes of the reader')
        self.assertIn('reader-token', browser.execute_script(
            'return sessionStorage.getItem("vmguard.dashboard.auth");'))
        browser.get(self.api.url + '/dashboard')
        self.wait(lambda: browser.find_elements(
            'css selector', '#nodes tbody tr'), 'the page after a reload')
        self.assertFalse(browser.find_element('id', 'login').is_displayed())
