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

"""The outer layers of the API stack: HTTPProxyToWSGI and /healthcheck."""

import webob

from vmguard.api import deploy
from vmguard.api import healthcheck
from vmguard.tests import base


class TestOuterLayers(base.DbTestCase):

    def setUp(self):
        super().setUp()
        self.flags(group='api', auth_strategy='noauth')
        deploy.deploy(self.conf)  # registers the middleware options

    def _get(self, path, **headers):
        app = deploy.deploy(self.conf)
        return webob.Request.blank(path, headers=headers).get_response(app)

    def test_links_follow_the_proxy_when_parsing_is_on(self):
        headers = {'X-Forwarded-Proto': 'https',
                   'X-Forwarded-Host': 'vmguard.example.org'}
        self.flags(group='oslo_middleware',
                   enable_proxy_headers_parsing=False)
        href = self._get('/', **headers).json['versions'][0]['links'][0]
        self.assertTrue(href['href'].startswith('http://localhost'), href)
        self.flags(group='oslo_middleware',
                   enable_proxy_headers_parsing=True)
        href = self._get('/', **headers).json['versions'][0]['links'][0]
        self.assertTrue(
            href['href'].startswith('https://vmguard.example.org/'), href)

    def test_healthcheck_uses_vmguards_backends(self):
        self.flags(group='healthcheck', backends=['vmguard_database'])
        resp = self._get('/healthcheck')
        # The database check runs for real against the test database.
        self.assertEqual(200, resp.status_int, resp.body)
        self.assertIn(b'database OK', resp.body)
        # Every other path goes to the API.
        self.assertEqual(200, self._get('/').status_int)
        self.assertEqual(['vmguard_database', 'vmguard_broker',
                          'vmguard_engine'], healthcheck.BACKENDS)
