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

"""Every route of the REST API over HTTP, against a real MariaDB."""

from concurrent import futures

import requests

from vmguard.db import api as db_api
from vmguard.tests.functional.api import base
from vmguard.tests.unit.api import data

ADMIN = base.ADMIN
READER = base.READER
MEMBER = base.MEMBER

# Every route and method with a valid request (path, body).
READS = [
    '/v1/nodes', '/v1/nodes/cmp-01', '/v1/nodes/cmp-01/states',
    '/v1/nodes/cmp-01/hardware', '/v1/nodes/cmp-01/hardware-changes',
    '/v1/vms', '/v1/vms/%s' % data.VM1, '/v1/events', '/v1/decisions',
    '/v1/recoveries',
]
WRITES = [
    ('/v1/nodes/cmp-01/maintenance', {'maintenance': True}),
    ('/v1/nodes/cmp-01/enable', {}),
    ('/v1/nodes/cmp-01/dry-run', {'dry_run': True}),
    ('/v1/dry-run', {'dry_run': True}),
]


class TestReads(base.APITestCase):

    def _reads(self):
        decision = self.sample['decisions'][0]
        recovery = self.sample['evac_recovery']
        return READS + ['/v1/decisions/%s' % decision.uuid,
                        '/v1/recoveries/%s' % recovery.uuid,
                        '/v1/dry-run', '/v1/notifications']

    def test_version_discovery_is_public(self):
        for path in ('/', '/v1'):
            resp = self.request('GET', path)
            self.assertEqual(200, resp.status_code, resp.text)
        versions = self.request('GET', '/').json()['versions']
        self.assertEqual('1.0', versions[0]['min_version'])
        self.assertEqual('1.3', versions[0]['max_version'])
        self.assertEqual(self.api.url + '/v1',
                         versions[0]['links'][0]['href'])

    def test_reader_and_admin_can_read_every_route(self):
        for headers in (READER, ADMIN):
            for path in self._reads():
                resp = self.get(path, headers=headers, version='latest')
                self.assertEqual(200, resp.status_code,
                                 '%s: %s' % (path, resp.text))
                self.assertEqual('vmguard 1.3',
                                 resp.headers['OpenStack-API-Version'])
                self.assertTrue(resp.headers['x-openstack-request-id'])

    def test_nodes_list_filters_and_pagination(self):
        body = self.get('/v1/nodes').json()
        self.assertEqual(['cmp-01', 'cmp-02'],
                         [n['name'] for n in body['nodes']])
        self.assertEqual([], body['links'])
        first = body['nodes'][0]
        self.assertEqual('failed', first['host_state'])
        self.assertTrue(first['disabled'])
        self.assertEqual('2026-11-26T10:00:00Z', first['last_report_at'])
        self.assertEqual(['cmp-02'], [n['name'] for n in self.get(
            '/v1/nodes?host_state=normal').json()['nodes']])
        self.assertEqual(['cmp-01'], [n['name'] for n in self.get(
            '/v1/nodes?disabled=true').json()['nodes']])
        self.assertEqual(['cmp-02'], [n['name'] for n in self.get(
            '/v1/nodes?disabled=false').json()['nodes']])
        self.assertEqual(['cmp-02', 'cmp-01'], [n['name'] for n in self.get(
            '/v1/nodes?sort_dir=desc').json()['nodes']])
        page = self.get('/v1/nodes?limit=1').json()
        self.assertEqual(['cmp-01'], [n['name'] for n in page['nodes']])
        next_url = page['links'][0]['href']
        self.assertIn('marker=cmp-01', next_url)
        page2 = self.http.get(next_url, headers=ADMIN).json()
        self.assertEqual(['cmp-02'], [n['name'] for n in page2['nodes']])

    def test_max_limit_caps_the_page(self):
        self.flags(group='api', max_limit=1)
        body = self.get('/v1/nodes?limit=50').json()
        self.assertEqual(1, len(body['nodes']))
        self.assertEqual('next', body['links'][0]['rel'])

    def test_node_show_says_why(self):
        node = self.get('/v1/nodes/cmp-01').json()['node']
        self.assertEqual('failed', node['host_state'])
        period = node['host_state_period']
        self.assertEqual(42, period['cycle_from'])
        self.assertTrue(period['open'])
        self.assertEqual(44, period['last_cycle'])
        self.assertEqual('dimm-A1', period['reason']['hardware'][0]['id'])
        self.assertEqual('R4: host failed (dimm-A1 critical)',
                         node['disabled_reason'])
        self.assertEqual([{'id': 'nfs-instances', 'kind': 'storage',
                           'health': 'ok', 'since_cycle': 1}],
                         node['external'])
        self.assertEqual('libvirtd', node['services'][0]['name'])
        self.assertFalse(node['effective_dry_run'])

    def test_node_states_hardware_and_identity_history(self):
        states = self.get('/v1/nodes/cmp-01/states').json()['states']
        self.assertEqual([('failed', 42, None), ('normal', 1, 41)],
                         [(s['state'], s['cycle_from'], s['cycle_to'])
                          for s in states])
        states = self.get('/v1/nodes/cmp-01/states?sort_dir=asc&'
                          'since_cycle=42').json()['states']
        self.assertEqual(['failed'], [s['state'] for s in states])
        # The host state of one cycle: the period that covers it.
        for cycle, state in ((41, 'normal'), (42, 'failed'),
                             (44, 'failed')):
            states = self.get('/v1/nodes/cmp-01/states?cycle=%d'
                              % cycle).json()['states']
            self.assertEqual([state], [s['state'] for s in states])
        hardware = self.get('/v1/nodes/cmp-01/hardware').json()['hardware']
        dimm = hardware[0]
        self.assertEqual(('dimm-A1', 'SN-7731', 'oob', 'inband'),
                         (dimm['id'], dimm['identity'],
                          dimm['identity_path'], dimm['baseline_path']))
        changes = self.get('/v1/nodes/cmp-01/hardware-changes?item=dimm-A1'
                           '&sort_dir=asc').json()['hardware_changes']
        self.assertEqual([(1, 'inband', 'ok'), (40, 'oob', 'ok'),
                          (42, 'oob', 'critical')],
                         [(c['cycle'], c['identity_path'], c['health'])
                          for c in changes])
        page = self.get('/v1/nodes/cmp-01/hardware-changes?limit=2').json()
        self.assertEqual([42, 40], [c['cycle']
                                    for c in page['hardware_changes']])
        page2 = self.http.get(page['links'][0]['href'], headers=ADMIN)
        self.assertEqual([1], [c['cycle'] for c in
                               page2.json()['hardware_changes']])
        self.assertEqual([], self.get(
            '/v1/nodes/cmp-02/hardware').json()['hardware'])

    def test_vms(self):
        vms = self.get('/v1/vms').json()['vms']
        self.assertEqual([data.VM1, data.VM2, data.VM3],
                         [v['uuid'] for v in vms])
        crashed = self.get('/v1/vms?state=crashed').json()['vms']
        self.assertEqual([(data.VM1, 'cmp-01', 'panicked')],
                         [(v['uuid'], v['node'], v['reason'])
                          for v in crashed])
        self.assertEqual([data.VM3], [v['uuid'] for v in self.get(
            '/v1/vms?node=cmp-02').json()['vms']])
        vm = self.get('/v1/vms/%s' % data.VM3).json()['vm']
        self.assertEqual((4, 8192, 'cmp-02'),
                         (vm['vcpus'], vm['ram_mb'], vm['node']))
        self.assertError(self.get('/v1/vms/nope'), 404)

    def test_events(self):
        events = self.get('/v1/events').json()['events']
        self.assertEqual([(data.VM1, 'libvirt'), (data.VM3, 'nova')],
                         [(e['vm'], e['source']) for e in events])
        self.assertEqual([data.VM3], [e['vm'] for e in self.get(
            '/v1/events?since=2026-11-26T10:30:00Z').json()['events']])
        self.assertEqual([data.VM1], [e['vm'] for e in self.get(
            '/v1/events?node=cmp-01').json()['events']])
        self.assertEqual([data.VM3, data.VM1], [e['vm'] for e in self.get(
            '/v1/events?sort_dir=desc').json()['events']])
        self.assertError(self.get('/v1/events?since=yesterday'), 400,
                         'vmguard.query_invalid', ['since'])

    def test_decisions(self):
        decisions = self.get('/v1/decisions').json()['decisions']
        self.assertEqual(['R3', 'R4', 'R4', 'R1'],
                         [d['rule'] for d in decisions])
        first = decisions[0]
        self.assertEqual(('evacuate', data.VM1, 'cmp-02'),
                         (first['action'], first['vm'], first['target']))
        self.assertEqual({'host_state': 'failed', 'cycle': 42},
                         first['evidence'])
        self.assertEqual('succeeded', first['recovery']['status'])
        self.assertEqual(['disable_node'], [d['action'] for d in self.get(
            '/v1/decisions?action=disable_node').json()['decisions']])
        self.assertEqual(['R1'], [d['rule'] for d in self.get(
            '/v1/decisions?node=cmp-02').json()['decisions']])
        self.assertEqual(['migrate_all', 'disable_node'], [
            d['action'] for d in self.get(
                '/v1/decisions?rule=R4').json()['decisions']])
        self.assertEqual(['evacuate'], [d['action'] for d in self.get(
            '/v1/decisions?vm=%s' % data.VM1).json()['decisions']])
        self.assertEqual([], self.get(
            '/v1/decisions?since=2099-01-01T00:00:00Z').json()['decisions'])
        page = self.get('/v1/decisions?limit=3&sort_dir=desc').json()
        self.assertEqual(['R1', 'R4', 'R4'],
                         [d['rule'] for d in page['decisions']])
        rest = self.http.get(page['links'][0]['href'], headers=ADMIN).json()
        self.assertEqual(['R3'], [d['rule'] for d in rest['decisions']])
        one = self.get('/v1/decisions/%s' % first['uuid']).json()
        self.assertEqual(first, one['decision'])
        self.assertError(self.get('/v1/decisions/nope'), 404,
                         'vmguard.not_found')
        self.assertError(self.get('/v1/decisions?marker=nope'), 400,
                         'vmguard.query_invalid', ['marker'])
        self.assertError(self.get('/v1/decisions?action=explode'), 400,
                         'vmguard.query_invalid', ['action'])

    def test_recoveries(self):
        recoveries = self.get('/v1/recoveries').json()['recoveries']
        self.assertEqual(4, len(recoveries))
        self.assertEqual(['succeeded'], [r['status'] for r in self.get(
            '/v1/recoveries?status=succeeded').json()['recoveries']])
        self.assertEqual(3, len(self.get(
            '/v1/recoveries?status=pending').json()['recoveries']))
        self.assertEqual(['reboot'], [
            r['decision']['action'] for r in self.get(
                '/v1/recoveries?node=cmp-02').json()['recoveries']])
        uuid = self.sample['evac_recovery'].uuid
        recovery = self.get('/v1/recoveries/%s' % uuid).json()['recovery']
        self.assertEqual(('succeeded', 1, 'engine-1'),
                         (recovery['status'], recovery['attempts'],
                          recovery['owner']))
        self.assertEqual('R3', recovery['decision']['rule'])
        self.assertEqual([('force_down', None, 'req-1'),
                          ('evacuate', 'cmp-02', 'req-2')],
                         [(a['action'], a['target'], a['request_id'])
                          for a in recovery['actions']])
        self.assertError(self.get('/v1/recoveries/nope'), 404)


class TestWrites(base.APITestCase):

    def test_maintenance(self):
        resp = self.put('/v1/nodes/cmp-02/maintenance',
                        {'maintenance': True})
        self.assertEqual(200, resp.status_code, resp.text)
        self.assertTrue(resp.json()['node']['maintenance'])
        self.assertTrue(db_api.node_get(self.context,
                                        'cmp-02').maintenance)
        self.assertEqual(['cmp-02'], [n['name'] for n in self.get(
            '/v1/nodes?maintenance=true').json()['nodes']])
        self.put('/v1/nodes/cmp-02/maintenance', {'maintenance': False})
        self.assertFalse(db_api.node_get(self.context,
                                         'cmp-02').maintenance)

    def test_enable_undoes_the_disable_of_vmguard(self):
        resp = self.put('/v1/nodes/cmp-01/enable', {})
        self.assertEqual(200, resp.status_code, resp.text)
        node = db_api.node_get(self.context, 'cmp-01')
        self.assertEqual((False, None, None),
                         (node.disabled, node.disabled_reason,
                          node.disabled_at))
        # Without a body too.
        resp = self.request('PUT', '/v1/nodes/cmp-02/enable',
                            headers=ADMIN)
        self.assertEqual(200, resp.status_code, resp.text)

    def test_node_dry_run(self):
        self.put('/v1/nodes/cmp-01/dry-run', {'dry_run': True})
        node = db_api.node_get(self.context, 'cmp-01')
        self.assertTrue(node.dry_run)
        self.assertTrue(db_api.effective_dry_run(self.context, node))
        shown = self.get('/v1/nodes/cmp-01').json()['node']
        self.assertTrue(shown['effective_dry_run'])
        self.put('/v1/nodes/cmp-01/dry-run', {'dry_run': None})
        self.assertIsNone(db_api.node_get(self.context, 'cmp-01').dry_run)

    def test_global_dry_run_needs_microversion_1_1(self):
        self.assertError(self.get('/v1/dry-run'), 404, 'vmguard.not_found',
                         ['1.1'])
        self.assertError(self.put('/v1/dry-run', {'dry_run': True}), 404)
        self.assertIsNone(db_api.setting_get(self.context, 'dry_run'))
        resp = self.put('/v1/dry-run', {'dry_run': True}, version='1.1')
        self.assertEqual(200, resp.status_code, resp.text)
        self.assertEqual({'dry_run': True, 'config_dry_run': False,
                          'effective': True}, resp.json())
        self.assertTrue(db_api.setting_get(self.context, 'dry_run'))
        node = db_api.node_get(self.context, 'cmp-02')
        self.assertTrue(db_api.effective_dry_run(self.context, node))
        # The node's own switch wins over the global one.
        self.put('/v1/nodes/cmp-02/dry-run', {'dry_run': False})
        node = db_api.node_get(self.context, 'cmp-02')
        self.assertFalse(db_api.effective_dry_run(self.context, node))
        resp = self.put('/v1/dry-run', {'dry_run': None}, version='1.1')
        self.assertEqual({'dry_run': None, 'config_dry_run': False,
                          'effective': False}, resp.json())
        self.assertIsNone(db_api.setting_get(self.context, 'dry_run'))

    def test_unknown_node_is_404_and_writes_nothing(self):
        before = self.dump()
        for path, body in WRITES[:3]:
            self.assertError(self.put(path.replace('cmp-01', 'cmp-99'),
                                      body), 404, 'vmguard.not_found',
                             ['cmp-99'])
        self.assertEqual(before, self.dump())


class TestRefusals(base.APITestCase):
    """401, 403, 400: a clear error, and nothing written."""

    def _all_requests(self):
        for path in READS:
            yield 'GET', path, None
        yield 'GET', '/v1/dry-run', None
        for path, body in WRITES:
            yield 'PUT', path, body

    def test_unauthenticated_is_401(self):
        before = self.dump()
        for method, path, body in self._all_requests():
            for headers in ({}, {'X-Roles': 'admin'}):
                resp = self.request(method, path, headers=headers,
                                    json=body, version='1.1')
                self.assertError(resp, 401, 'vmguard.not_authenticated')
        self.assertEqual(before, self.dump())

    def test_non_admin_is_403(self):
        before = self.dump()
        for method, path, body in self._all_requests():
            resp = self.request(method, path, headers=MEMBER, json=body,
                                version='1.1')
            self.assertError(resp, 403, 'vmguard.policy_forbidden',
                             ['vmguard:'])
        self.assertEqual(before, self.dump())

    def test_reader_cannot_write(self):
        before = self.dump()
        for path, body in WRITES:
            resp = self.put(path, body, headers=READER, version='1.1')
            self.assertError(resp, 403, 'vmguard.policy_forbidden')
        self.assertEqual(before, self.dump())

    def test_schema_violation_is_400_naming_the_field(self):
        before = self.dump()
        cases = [
            ('/v1/nodes/cmp-01/maintenance', {'maintenance': 'yes'},
             "field 'maintenance'"),
            ('/v1/nodes/cmp-01/maintenance', {},
             "'maintenance' is a required property"),
            ('/v1/nodes/cmp-01/maintenance',
             {'maintenance': True, 'color': 'red'}, "'color'"),
            ('/v1/nodes/cmp-01/enable', {'force': True}, "'force'"),
            ('/v1/nodes/cmp-01/dry-run', {'dry_run': 1},
             "field 'dry_run'"),
            ('/v1/dry-run', {'dry_run': 'on'}, "field 'dry_run'"),
            ('/v1/dry-run', [], 'is not of type'),
        ]
        for path, body, expected in cases:
            resp = self.put(path, body, version='1.1')
            self.assertError(resp, 400, 'vmguard.schema_invalid',
                             [expected])
        resp = self.request('PUT', '/v1/nodes/cmp-01/maintenance',
                            headers=dict(ADMIN, **{
                                'Content-Type': 'application/json'}),
                            data='{"maintenance": tru')
        self.assertError(resp, 400, 'vmguard.malformed_json')
        resp = self.request('PUT', '/v1/nodes/cmp-01/maintenance',
                            headers=dict(ADMIN, **{
                                'Content-Type': 'text/plain'}),
                            data='maintenance=true')
        self.assertError(resp, 415)
        for query in ('limit=0', 'limit=x', 'sort_dir=up', 'bogus=1',
                      'limit=1&limit=2', 'disabled=maybe'):
            self.assertError(self.get('/v1/nodes?' + query), 400,
                             'vmguard.query_invalid')
        self.assertEqual(before, self.dump())

    def test_microversion_errors_and_unknown_routes(self):
        self.assertError(self.get('/v1/nodes', version='2.0'), 406,
                         'vmguard.microversion_invalid')
        self.assertError(self.get('/v1/nodes', version='1.9'), 406)
        self.assertError(self.get('/v1/nodes', version='x.y'), 400)
        resp = self.get('/v1/nodes', version='1.0')
        self.assertEqual('vmguard 1.0',
                         resp.headers['OpenStack-API-Version'])
        self.assertError(self.get('/v1/widgets'), 404)
        resp = self.request('DELETE', '/v1/nodes/cmp-01', headers=ADMIN)
        self.assertError(resp, 405)
        self.assertEqual('GET, HEAD', resp.headers['Allow'])
        self.assertEqual(200, self.get('/v1/nodes/').status_code)

    def test_concurrent_requests(self):
        def call(i):
            with requests.Session() as http:
                resp = http.get(self.api.url + '/v1/decisions?limit=%d'
                                % (i % 4 + 1), headers=READER, timeout=30)
            return resp.status_code, len(resp.json()['decisions'])

        with futures.ThreadPoolExecutor(16) as pool:
            results = list(pool.map(call, range(64)))
        self.assertEqual([(200, i % 4 + 1) for i in range(64)], results)

    def test_request_id_is_returned(self):
        resp = self.get('/v1/nodes')
        self.assertTrue(resp.headers['x-openstack-request-id'].startswith(
            'req-'))
