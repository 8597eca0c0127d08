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

"""Failover segments through the REST API (microversion 1.3), MariaDB."""

from vmguard.db import api as db_api
from vmguard.tests.functional.api import base

V = '1.3'


class TestSegmentsAPI(base.APITestCase):

    seed = False

    def call(self, method, path, body=None, headers=base.ADMIN,
             version=V):
        return self.request(method, path, headers=headers, json=body,
                            version=version)

    def _create(self, **body):
        body.setdefault('name', 'rack-a')
        body.setdefault('recovery_method', 'reserved_host')
        resp = self.call('POST', '/v1/segments', body)
        self.assertEqual(201, resp.status_code, resp.text)
        return resp.json()['segment']

    def test_create_show_update_delete(self):
        segment = self._create(description='rack A', hosts=[
            {'name': 'cmp-1'}, {'name': 'cmp-9', 'reserved': True}])
        self.assertEqual(('rack-a', 'reserved_host', 'rack A'),
                         (segment['name'], segment['recovery_method'],
                          segment['description']))
        self.assertEqual([('cmp-1', False), ('cmp-9', True)],
                         [(h['name'], h['reserved'])
                          for h in segment['hosts']])
        for ident in ('rack-a', segment['uuid']):
            resp = self.call('GET', '/v1/segments/%s' % ident,
                             headers=base.READER)
            self.assertEqual(200, resp.status_code, resp.text)
            self.assertEqual(segment['uuid'], resp.json()['segment']['uuid'])
        resp = self.call('PATCH', '/v1/segments/rack-a',
                         {'name': 'rack-b', 'recovery_method': 'rh_priority'})
        self.assertEqual(200, resp.status_code, resp.text)
        self.assertEqual(('rack-b', 'rh_priority'),
                         (resp.json()['segment']['name'],
                          resp.json()['segment']['recovery_method']))
        self.assertEqual(404, self.call('GET',
                                        '/v1/segments/rack-a').status_code)
        # What the engine reads.
        [stored] = db_api.segment_map(self.context)
        self.assertEqual(('rack-b', 'rh_priority', ['cmp-1', 'cmp-9']),
                         (stored['name'], stored['recovery_method'],
                          [h['name'] for h in stored['hosts']]))
        resp = self.call('DELETE', '/v1/segments/%s' % segment['uuid'])
        self.assertEqual(204, resp.status_code, resp.text)
        self.assertEqual([], db_api.segment_map(self.context))

    def test_hosts(self):
        self._create()
        resp = self.call('POST', '/v1/segments/rack-a/hosts',
                         {'name': 'cmp-3', 'reserved': True})
        self.assertEqual(201, resp.status_code, resp.text)
        self.assertEqual({'name': 'cmp-3', 'reserved': True,
                          'activated_at': None, 'activated_reason': None},
                         {k: v for k, v in resp.json()['host'].items()
                          if k != 'created_at'})
        self.call('POST', '/v1/segments/rack-a/hosts', {'name': 'cmp-1'})
        resp = self.call('PATCH', '/v1/segments/rack-a/hosts/cmp-1',
                         {'reserved': True})
        self.assertEqual(200, resp.status_code, resp.text)
        resp = self.call('GET', '/v1/segments/rack-a/hosts',
                         headers=base.READER)
        self.assertEqual([('cmp-1', True), ('cmp-3', True)],
                         [(h['name'], h['reserved'])
                          for h in resp.json()['hosts']])
        resp = self.call('DELETE', '/v1/segments/rack-a/hosts/cmp-3')
        self.assertEqual(204, resp.status_code, resp.text)
        self.assertError(self.call('DELETE',
                                   '/v1/segments/rack-a/hosts/cmp-3'),
                         404, 'vmguard.not_found', ['cmp-3'])

    def test_list_filter_and_pagination(self):
        for name, method in (('a', 'auto'), ('b', 'reserved_host'),
                             ('c', 'auto')):
            self._create(name=name, recovery_method=method)
        resp = self.call('GET', '/v1/segments?recovery_method=auto',
                         headers=base.READER)
        self.assertEqual(['a', 'c'],
                         [s['name'] for s in resp.json()['segments']])
        resp = self.call('GET', '/v1/segments?limit=2')
        body = resp.json()
        self.assertEqual(['a', 'b'], [s['name'] for s in body['segments']])
        self.assertIn('marker=b', body['links'][0]['href'])

    def test_a_node_belongs_to_one_segment(self):
        self._create(hosts=[{'name': 'cmp-1'}])
        before = db_api.segment_map(self.context)
        resp = self.call('POST', '/v1/segments', {
            'name': 'rack-b', 'recovery_method': 'auto',
            'hosts': [{'name': 'cmp-1'}]})
        self.assertError(resp, 409, detail_has=['cmp-1', 'rack-a'])
        self._create(name='rack-b', recovery_method='auto')
        resp = self.call('POST', '/v1/segments/rack-b/hosts',
                         {'name': 'cmp-1'})
        self.assertError(resp, 409, detail_has=['cmp-1', 'rack-a'])
        resp = self.call('POST', '/v1/segments', {
            'name': 'rack-a', 'recovery_method': 'auto'})
        self.assertError(resp, 409, detail_has=['rack-a'])
        resp = self.call('PATCH', '/v1/segments/rack-b', {'name': 'rack-a'})
        self.assertError(resp, 409, detail_has=['rack-a'])
        resp = self.call('POST', '/v1/segments', {
            'name': 'rack-c', 'recovery_method': 'auto',
            'hosts': [{'name': 'cmp-7'}, {'name': 'cmp-7'}]})
        self.assertError(resp, 409, detail_has=['twice'])
        self.assertEqual(['rack-a', 'rack-b'],
                         [s['name'] for s in db_api.segment_map(
                             self.context)])
        self.assertEqual(before[0]['hosts'],
                         db_api.segment_map(self.context)[0]['hosts'])

    def test_bad_input_is_400_and_writes_nothing(self):
        cases = [
            ({'name': 'x', 'recovery_method': 'magic'},
             "field 'recovery_method'"),
            ({'recovery_method': 'auto'}, "'name' is a required property"),
            ({'name': '', 'recovery_method': 'auto'}, "field 'name'"),
            ({'name': 'a\nb', 'recovery_method': 'auto'}, "field 'name'"),
            ({'name': 'x', 'recovery_method': 'auto',
              'hosts': [{'name': 'cmp-1', 'reserved': 'yes'}]},
             "field 'hosts.0.reserved'"),
            ({'name': 'x', 'recovery_method': 'auto', 'color': 'red'},
             "'color'"),
        ]
        for body, expected in cases:
            self.assertError(self.call('POST', '/v1/segments', body), 400,
                             'vmguard.schema_invalid', [expected])
        self._create()
        self.assertError(self.call('PATCH', '/v1/segments/rack-a', {}),
                         400, 'vmguard.schema_invalid')
        self.assertError(self.call('PATCH', '/v1/segments/rack-a/hosts/x',
                                   {'reserved': True}), 404)
        self.assertError(self.call('GET', '/v1/segments/nope'), 404,
                         'vmguard.not_found', ['nope'])
        self.assertEqual(['rack-a'], [s['name'] for s in
                                      db_api.segment_map(self.context)])

    def test_needs_microversion_1_3_and_admin_to_write(self):
        self.assertError(self.call('GET', '/v1/segments', version='1.2'),
                         404, 'vmguard.not_found', ['1.3'])
        body = {'name': 'rack-a', 'recovery_method': 'auto'}
        for headers in (base.READER, base.MEMBER, base.PROJECT_READER):
            self.assertError(self.call('POST', '/v1/segments', body,
                                       headers=headers),
                             403, 'vmguard.policy_forbidden',
                             ['vmguard:segments:create'])
        self.assertError(self.call('GET', '/v1/segments',
                                   headers=base.MEMBER),
                         403, 'vmguard.policy_forbidden')
        self._create(name='rack-a', recovery_method='auto')
        for method, path, body in (
                ('PATCH', '/v1/segments/rack-a', {'name': 'z'}),
                ('DELETE', '/v1/segments/rack-a', None),
                ('POST', '/v1/segments/rack-a/hosts', {'name': 'n'}),
                ('PATCH', '/v1/segments/rack-a/hosts/n', {'reserved': True}),
                ('DELETE', '/v1/segments/rack-a/hosts/n', None)):
            self.assertError(self.call(method, path, body,
                                       headers=base.READER),
                             403, 'vmguard.policy_forbidden')
        self.assertEqual([('rack-a', [])], [
            (s['name'], s['hosts']) for s in db_api.segment_map(
                self.context)])
