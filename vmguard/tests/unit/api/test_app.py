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

"""The WSGI stack in process (webob requests, in-memory SQLite)."""

import os

from oslo_db import exception as db_exc
from oslo_serialization import jsonutils
import webob

import vmguard
from vmguard.api import deploy
from vmguard.api import handler
from vmguard.api import microversion
from vmguard.db import api as db_api
from vmguard import policy
from vmguard import policies
from vmguard.tests import base
from vmguard.tests.unit.api import data

ADMIN = {'X-User-Id': 'alice', 'X-Roles': 'admin'}


class APITestCase(base.DbTestCase):

    def setUp(self):
        super().setUp()
        self.conf([], project='vmguard', default_config_files=[])
        self.flags(group='api', auth_strategy='noauth')
        policy.reset()
        self.addCleanup(policy.reset)
        self.sample = data.seed(self.context)
        self.app = deploy.deploy(self.conf)

    def call(self, method, path, headers=ADMIN, body=None, version=None):
        req = webob.Request.blank(path, method=method)
        for name, value in headers.items():
            req.headers[name] = value
        if version:
            req.headers['OpenStack-API-Version'] = 'vmguard %s' % version
        if body is not None:
            req.content_type = 'application/json'
            req.body = jsonutils.dump_as_bytes(body)
        return req.get_response(self.app)


class TestRoutes(APITestCase):

    def test_every_route_has_a_documented_policy(self):
        documented = set()
        for rule in policies.list_rules():
            for op in getattr(rule, 'operations', ()):
                documented.add((op['method'], op['path']))
        for path, methods in handler.ROUTE_DECLARATIONS.items():
            if path in handler.PUBLIC_PATHS:
                continue
            for method in methods:
                self.assertIn((method, path), documented)

    def test_unknown_path_and_method(self):
        resp = self.call('GET', '/v2/nodes')
        self.assertEqual(404, resp.status_int)
        self.assertEqual('vmguard.not_found',
                         resp.json['errors'][0]['code'])
        resp = self.call('POST', '/v1/dry-run')
        self.assertEqual(405, resp.status_int)
        self.assertEqual('GET, HEAD, PUT', resp.headers['Allow'])

    def test_node_names_with_dots(self):
        db_api.node_get_or_create(self.context, 'cmp-03.example.org')
        resp = self.call('GET', '/v1/nodes/cmp-03.example.org')
        self.assertEqual(200, resp.status_int, resp.text)
        self.assertEqual('cmp-03.example.org', resp.json['node']['name'])

    def test_unexpected_error_is_a_json_500(self):
        def boom(req):
            raise RuntimeError('database on fire')
        self.app = deploy.FaultWrapper(handler.Handler({'/x': {'GET': boom}}))
        resp = self.call('GET', '/x')
        self.assertEqual(500, resp.status_int)
        error = resp.json['errors'][0]
        self.assertNotIn('fire', error['detail'])
        self.assertEqual('Internal Server Error', error['title'])


    def test_database_down_is_a_503(self):
        def down(req):
            raise db_exc.DBConnectionError('gone')
        self.app = deploy.FaultWrapper(handler.Handler({'/x': {'GET': down}}))
        resp = self.call('GET', '/x')
        self.assertEqual(503, resp.status_int)
        self.assertEqual('vmguard.database_unavailable',
                         resp.json['errors'][0]['code'])
        self.assertEqual('5', resp.headers['Retry-After'])

    def test_paste_deploy_loads_the_same_stack(self):
        from paste import deploy as paste_deploy
        ini = os.path.join(os.path.dirname(vmguard.__file__), '..', 'etc',
                           'vmguard', 'api-paste.ini')
        self.app = paste_deploy.loadapp('config:' + os.path.abspath(ini),
                                        name='vmguard-api')
        self.assertEqual(401, self.call('GET', '/v1/nodes',
                                        headers={}).status_int)
        self.assertEqual(200, self.call('GET', '/v1/nodes').status_int)


class TestAuth(APITestCase):

    def test_noauth_needs_a_user(self):
        resp = self.call('GET', '/v1/nodes', headers={'X-Roles': 'admin'})
        self.assertEqual(401, resp.status_int)
        self.assertEqual(200, self.call('GET', '/', headers={}).status_int)

    def test_policy_defaults(self):
        enforcer = policy.init(self.conf)
        creds = {'roles': ['reader'], 'system_scope': 'all'}
        self.assertTrue(enforcer.authorize('vmguard:nodes:list', {}, creds))
        self.assertFalse(enforcer.authorize('vmguard:nodes:update', {},
                                            creds))
        # Keystone's implied reader role of a project member: not the
        # cloud's data.
        project_reader = {'roles': ['member', 'reader'], 'project_id': 'p'}
        for rule in policies.list_rules():
            self.assertFalse(enforcer.authorize(rule.name, {},
                                                project_reader), rule.name)
        self.assertFalse(enforcer.authorize('vmguard:decisions:list', {},
                                            {'roles': ['member']}))
        for rule in policies.list_rules():
            self.assertTrue(enforcer.authorize(rule.name, {},
                                               {'roles': ['admin']}))


class TestMicroversion(APITestCase):

    def test_versions_are_ordered(self):
        parsed = [microversion.parse_version_string(v)
                  for v in microversion.VERSIONS]
        self.assertEqual(sorted(parsed), parsed)
        self.assertEqual(len(set(parsed)), len(parsed))

    def test_header_is_echoed_and_gates_routes(self):
        resp = self.call('GET', '/v1/dry-run', version='latest')
        self.assertEqual(200, resp.status_int)
        self.assertEqual('vmguard %s' % microversion.max_version_string(),
                         resp.headers['OpenStack-API-Version'])
        resp = self.call('GET', '/v1/dry-run')
        self.assertEqual(404, resp.status_int)
        self.assertEqual('vmguard 1.0', resp.headers['OpenStack-API-Version'])
        self.assertEqual(406, self.call('GET', '/v1/nodes',
                                        version='1.99').status_int)


class TestBodies(APITestCase):

    def test_schema_error_names_the_field(self):
        resp = self.call('PUT', '/v1/nodes/cmp-01/maintenance',
                         body={'maintenance': 'on'})
        self.assertEqual(400, resp.status_int)
        self.assertIn("field 'maintenance'",
                      resp.json['errors'][0]['detail'])
        self.assertFalse(db_api.node_get(self.context,
                                         'cmp-01').maintenance)

    def test_pagination_links(self):
        resp = self.call('GET', '/v1/decisions?limit=2&rule=R4')
        body = resp.json
        self.assertEqual(2, len(body['decisions']))
        href = body['links'][0]['href']
        self.assertIn('rule=R4', href)
        self.assertIn('marker=%s' % body['decisions'][1]['uuid'], href)
        resp = self.call('GET', href[len('http://localhost'):])
        self.assertEqual([], resp.json['decisions'])
        self.assertEqual([], resp.json['links'])
