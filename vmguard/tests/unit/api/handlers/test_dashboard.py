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

"""The status page's files and reads, in process on SQLite.

The rows are written by the engine's persistence (``Engine.handle``), as
in production; the browser test (tests/functional/api/test_dashboard.py)
covers the page itself on MariaDB.
"""

import webob

from vmguard.api import deploy
from vmguard.api.handlers import dashboard
from vmguard.engine import service
from vmguard import objects
from vmguard.objects import records
from vmguard import policy
from vmguard.tests import base

READER = {'X-User-Id': 'rita', 'X-Roles': 'reader'}


def snapshot(cycle, dimm='ok', disk='ok', path='inband'):
    return {'type': 'snapshot', 'node': 'cmp-1', 'cycle': cycle,
            'collected_at': '2026-11-29T05:00:00Z',
            'hardware': [
                {'id': 'dimm-A1', 'kind': 'memory', 'health': dimm,
                 'identity': 'SN-1', 'identity_path': 'inband'},
                {'id': 'disk-sdb', 'kind': 'disk', 'health': disk,
                 'identity': 'WWN-1', 'identity_path': path}],
            'external': [], 'services': [],
            'capacity': {'vcpus_free': 8, 'ram_mb_free': 8000}, 'vms': []}


class TestBands(base.TestCase):

    def test_gaps_and_trailing_silence_are_silent(self):
        periods = [('normal', 1, 4), ('failed', 7, 9), ('normal', 10, None)]
        self.assertEqual(
            [[1, 4, 'normal'], [5, 6, 'silent'], [7, 9, 'failed'],
             [10, 12, 'normal'], [13, 20, 'silent']],
            dashboard._bands(periods, 12, 20, 0, 100))

    def test_one_cycle_behind_is_not_silent(self):
        self.assertEqual([[1, 12, 'normal']], dashboard._bands(
            [('normal', 1, None)], 12, 13, 0, 100))
        self.assertEqual([[1, 12, 'normal'], [13, 14, 'silent']],
                         dashboard._bands([('normal', 1, None)], 12, 14,
                                          0, 100))

    def test_bands_are_clipped_to_the_range(self):
        periods = [('normal', 1, 4), ('degraded', 5, None)]
        self.assertEqual([[3, 4, 'normal'], [5, 6, 'degraded']],
                         dashboard._bands(periods, 9, 9, 3, 6))
        self.assertEqual([], dashboard._bands(periods, 9, 9, 20, 30))


class TestDashboardRoutes(base.DbTestCase):

    def setUp(self):
        super().setUp()
        self.conf([], project='vmguard', default_config_files=[])
        self.flags(group='api', auth_strategy='noauth')
        policy.reset()
        self.addCleanup(policy.reset)
        objects.register_all()
        self.app = deploy.deploy(self.conf)
        self.engine = service.Engine(self.conf)

    def feed(self, *snapshots):
        cache = {}
        for data in snapshots:
            rec = records.parse_record(data, cache)
            self.engine.handle(rec, now=rec.cycle * 10.0)
        self.engine.persister.flush()

    def call(self, path, headers=READER, version='1.2'):
        req = webob.Request.blank(path)
        for name, value in headers.items():
            req.headers[name] = value
        if version:
            req.headers['OpenStack-API-Version'] = 'vmguard %s' % version
        return req.get_response(self.app)

    def test_page_and_files_are_public_and_guarded(self):
        resp = self.call('/dashboard', headers={})
        self.assertEqual(200, resp.status_int)
        self.assertIn('dashboard/static/dashboard.js', resp.text)
        self.assertIn("default-src 'none'",
                      resp.headers['Content-Security-Policy'])
        self.assertEqual('nosniff', resp.headers['X-Content-Type-Options'])
        for name, kind in dashboard.STATIC_FILES.items():
            resp = self.call('/dashboard/static/' + name, headers={})
            self.assertEqual(200, resp.status_int)
            self.assertEqual(kind, resp.content_type)
        # Any other name: no file, even with a token.
        self.assertEqual(404, self.call('/dashboard/static/x.js',
                                        headers=READER).status_int)
        self.assertEqual(401, self.call('/dashboard/static/x.js',
                                        headers={}).status_int)
        resp = self.call('/dashboard/', headers={})
        self.assertEqual(301, resp.status_int)
        self.assertTrue(resp.location.endswith('/dashboard'))

    def test_timeline(self):
        self.feed(snapshot(1), snapshot(2), snapshot(3, dimm='critical'),
                  snapshot(4))
        resp = self.call('/v1/dashboard/timeline')
        self.assertEqual(200, resp.status_int, resp.text)
        body = resp.json
        # From the first stored cycle: fewer than the 360 asked for.
        self.assertEqual((1, 4, 4), (body['since_cycle'],
                                     body['until_cycle'],
                                     body['latest_cycle']))
        self.assertEqual([[1, 2, 'normal'], [3, 3, 'failed'],
                          [4, 4, 'normal']], body['nodes'][0]['bands'])
        self.assertEqual({('R4', 'migrate_all', 3),
                          ('R4', 'disable_node', 3)},
                         {(d['rule'], d['action'], d['cycle'])
                          for d in body['decisions']})
        body = self.call('/v1/dashboard/timeline?since_cycle=3&'
                         'until_cycle=3&node=cmp-1').json
        self.assertEqual([[3, 3, 'failed']], body['nodes'][0]['bands'])
        self.assertEqual([], self.call(
            '/v1/dashboard/timeline?node=cmp-2').json['nodes'])
        for query in ('cycles=0', 'since_cycle=-1', 'since_cycle=5&'
                      'until_cycle=4', 'since_cycle=0&until_cycle=20000',
                      'colour=red'):
            resp = self.call('/v1/dashboard/timeline?' + query)
            self.assertEqual(400, resp.status_int, query)
        self.assertEqual(404, self.call('/v1/dashboard/timeline',
                                        version='1.1').status_int)

    def test_cycle_items_not_ok_within_a_period(self):
        # Degraded from cycle 2 (dimm); the disk warns too from cycle 3
        # (same period) and is read out of band from cycle 4.
        self.feed(snapshot(1), snapshot(2, dimm='warning'),
                  snapshot(3, dimm='warning', disk='warning'),
                  snapshot(4, dimm='warning', disk='warning', path='oob'),
                  snapshot(5))

        def at(cycle):
            resp = self.call('/v1/dashboard/nodes/cmp-1/cycles/%d' % cycle)
            self.assertEqual(200, resp.status_int, resp.text)
            return resp.json['cycle']

        self.assertEqual(('normal', []),
                         (at(1)['host_state'], at(1)['not_ok']))
        c2 = at(2)
        self.assertEqual('degraded', c2['host_state'])
        self.assertEqual([('dimm-A1', 'warning')],
                         [(i['id'], i['health']) for i in c2['not_ok']])
        c3 = at(3)
        self.assertEqual([('dimm-A1', 'warning'), ('disk-sdb', 'warning')],
                         [(i['id'], i['health']) for i in c3['not_ok']])
        self.assertEqual([], c3['off_baseline_path'])
        c4 = at(4)
        self.assertEqual([('disk-sdb', 'oob', 'inband')],
                         [(i['id'], i['identity_path'], i['baseline_path'])
                          for i in c4['off_baseline_path']])
        self.assertEqual(('normal', [], []), (
            at(5)['host_state'], at(5)['not_ok'], at(5)['off_baseline_path']))
        self.assertEqual('silent', at(9)['host_state'])
        self.assertEqual(404, self.call(
            '/v1/dashboard/nodes/cmp-9/cycles/1').status_int)
        self.assertEqual(404, self.call(
            '/v1/dashboard/nodes/cmp-1/cycles/x').status_int)
        self.assertEqual(403, self.call(
            '/v1/dashboard/nodes/cmp-1/cycles/1',
            headers={'X-User-Id': 'm', 'X-Roles': 'member'}).status_int)
