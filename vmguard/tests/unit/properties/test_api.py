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

"""Properties of the API's request bodies (and paths).

Random bodies -- any JSON value, objects with the right keys and wrong
values, unknown keys, bytes that are not JSON, JSON nested 100,000 deep --
are PUT to every route that takes one (node maintenance, enable, dry-run;
the global dry-run), on the whole WSGI stack in process with the unit API
tests' database. Each answer is 200 when the body is valid (the oracle
below is written from the schemas' meaning, not with jsonschema) and the
node exists, 404 when it does not, otherwise a 400 in the OpenStack error
format naming the field (a 413 for a body larger than
``[api] max_request_body_size``); never a 500. A refused request leaves
every table as it was.
"""

import json
import urllib.parse

import hypothesis
from hypothesis import strategies as st

from vmguard.api import util as api_util
from vmguard.db import api as db_api
from vmguard.tests.unit.api import test_app
from vmguard.tests.unit.properties import strategies as s

# route -> (the body's one key or None, its allowed values, microversion)
_ROUTES = {
    '/v1/nodes/%s/maintenance': ('maintenance', (True, False), None),
    '/v1/nodes/%s/enable': (None, (), None),
    '/v1/nodes/%s/dry-run': ('dry_run', (True, False, None), None),
    '/v1/dry-run': ('dry_run', (True, False, None), '1.1'),
}
_NODES = ('cmp-01', 'cmp-02')   # seeded by the unit API tests' data

_values = (st.sampled_from([True, False, None, 0, 1, 'true', 'on', '',
                            [], {}, [True], {'maintenance': True}])
           | s.json_values)
_bodies = st.one_of(
    s.json_values,
    st.fixed_dictionaries({}, optional={
        'maintenance': _values, 'dry_run': _values}),
    st.builds(lambda body, extra: {**body, **extra},
              st.fixed_dictionaries({}, optional={
                  'maintenance': st.booleans(),
                  'dry_run': st.none() | st.booleans()}),
              st.dictionaries(s.text(max_size=6), s.json_values,
                              max_size=2)),
).map(lambda body: json.dumps(body).encode('utf-8'))
_raw = st.one_of(
    st.binary(max_size=30),
    st.sampled_from([b'', b' ', b'{', b'{"maintenance": true',
                     b'{"maintenance": tru}', b'NaN', b'\xff\xfe',
                     b'{"maintenance": "\xed\xa0\x80"}',
                     b'{"dry_run": ' + b'9' * 5000 + b'}']),
    st.sampled_from([100, 900, 1000, 5000, 100000]).map(
        lambda n: b'[' * n + b']' * n),
    st.sampled_from([100, 900, 990, 5000]).map(
        lambda n: b'{"maintenance": ' + b'[' * n + b']' * n + b'}'),
)


def _decode(raw):
    """The body as the API reads it (UTF-8 only)."""
    return json.loads(raw.decode('utf-8'))


def _decodes(raw):
    try:
        _decode(raw)
    except (ValueError, RecursionError):
        return False
    return True


def _oracle(key, allowed, raw):
    """(valid, fields to be named in a 400): the schemas, by hand."""
    if key is None and raw == b'':
        return True, ()       # enable: no body at all is fine
    if not _decodes(raw):
        return False, ()
    body = _decode(raw)
    if not isinstance(body, dict):
        return False, ()
    named = []
    for name, value in body.items():
        if name != key:
            named.append(repr(name))          # unknown: "'x' was unexpected"
        elif not any(value is v or (type(value) is type(v) and value == v)
                     for v in allowed):
            named.append("field '%s'" % name)  # a wrong value
    if key is not None and key not in body:
        named.append(repr(key))               # "'x' is a required property"
    return not named, named


class TestAPIBodyProperties(test_app.APITestCase):

    def _put(self, path, raw, version=None):
        req = test_app.webob.Request.blank(path, method='PUT')
        for name, value in test_app.ADMIN.items():
            req.headers[name] = value
        if version:
            req.headers['OpenStack-API-Version'] = 'vmguard %s' % version
        req.content_type = 'application/json'
        req.body = raw
        return req.get_response(self.app)

    def _dump(self):
        return s.db_dump(db_api.get_engine())

    def _assert_error(self, resp, status, code):
        self.assertEqual(status, resp.status_int, resp.body)
        body = json.loads(resp.body)
        self.assertEqual(['errors'], list(body))
        error = body['errors'][0]
        self.assertEqual({'status', 'title', 'detail', 'code',
                          'request_id'}, set(error))
        self.assertEqual(status, error['status'])
        self.assertEqual(code, error['code'])
        self.assertTrue(error['request_id'].startswith('req-'))
        return error['detail']

    @hypothesis.settings(max_examples=400)
    @hypothesis.given(st.sampled_from(sorted(_ROUTES)),
                      st.sampled_from(_NODES), _bodies | _raw)
    def test_body_is_accepted_or_a_400_naming_the_field(
            self, route, node, raw):
        key, allowed, version = _ROUTES[route]
        path = route % node if '%s' in route else route
        valid, named = _oracle(key, allowed, raw)
        before = self._dump()
        resp = self._put(path, raw, version)
        if len(raw) > self.conf.api.max_request_body_size:
            # Neither read nor echoed: [api] max_request_body_size.
            self._assert_error(resp, 413, api_util.TOO_LARGE)
            self.assertLess(len(resp.body), 1000)
            self.assertEqual(before, self._dump())
            return
        if valid:
            self.assertEqual(200, resp.status_int, resp.body)
            if key is not None:
                body = _decode(raw)
                shown = resp.json['node'] if 'node' in resp.json \
                    else resp.json
                self.assertIs(body[key], shown[key])
            return
        code = (api_util.SCHEMA_INVALID if _decodes(raw)
                else api_util.MALFORMED_JSON)
        if raw.count(b'[') > 500:
            # Nested about as deep as the decoder goes: whether it gets
            # to the end depends on the depth of the stack it runs on.
            code = resp.json['errors'][0]['code']
            self.assertIn(code, (api_util.SCHEMA_INVALID,
                                 api_util.MALFORMED_JSON))
        detail = self._assert_error(resp, 400, code)
        if 'nested too deep' not in detail:
            for word in named:
                self.assertIn(word, detail)
        self.assertEqual(before, self._dump())

    @hypothesis.settings(max_examples=200)
    @hypothesis.given(st.sampled_from(sorted(r for r in _ROUTES
                                             if '%s' in r)),
                      st.one_of(s.text(1, 12),
                                st.binary(min_size=1, max_size=6)),
                      _bodies | _raw)
    def test_any_node_in_the_path_is_never_a_500(self, route, name, raw):
        # Any node name, percent-encoded -- bytes that are not UTF-8
        # included: a 200 only for a node that exists, and a 404 for a
        # valid body on a node that does not; a bad body is still a 400.
        path = route % urllib.parse.quote(name, safe='')
        key, allowed, version = _ROUTES[route]
        valid, _named = _oracle(key, allowed, raw)
        before = self._dump()
        resp = self._put(path, raw, version)
        self.assertNotEqual(500, resp.status_int, resp.body)
        if len(raw) > self.conf.api.max_request_body_size:
            self._assert_error(resp, 413, api_util.TOO_LARGE)
            self.assertEqual(before, self._dump())
            return
        exists = name in _NODES
        if valid and exists:
            self.assertEqual(200, resp.status_int, resp.body)
            return
        if valid:
            self._assert_error(resp, 404, api_util.NOT_FOUND)
        else:
            self.assertIn(resp.status_int, (400, 404), resp.body)
        self.assertEqual(before, self._dump())


# The JSON API's routes (the status page under /dashboard is HTML).
_GET_ROUTES = [path for path, methods in sorted(
    test_app.handler.ROUTE_DECLARATIONS.items())
    if 'GET' in methods and not path.startswith('/dashboard')]
_PARAMS = ['marker', 'limit', 'sort_dir', 'since', 'since_cycle', 'cycle',
           'node', 'vm', 'rule', 'action', 'event', 'state', 'host_state',
           'disabled', 'status', 'item']
# Values as a client may write them: bytes that are not UTF-8, integers
# too large for any column, non-ASCII digits, controls, huge ones.
_query_values = st.one_of(
    st.binary(max_size=8).map(lambda b: urllib.parse.quote(b, safe='')),
    s.text(max_size=8).map(lambda t: urllib.parse.quote(t, safe='')),
    st.integers(-10 ** 25, 10 ** 25).map(str),
    st.sampled_from(['%ff', '%ed%a0%80', '%C2%B2', '1_0', ' 1', '0x10',
                     '9' * 23, '-1', '', '%00', '%0a', 'asc', 'desc',
                     'true', '2026-11-26T10:00:00Z', 'a' * 300]))
_query = st.lists(st.tuples(
    st.sampled_from(_PARAMS) | st.binary(min_size=1, max_size=4).map(
        lambda b: urllib.parse.quote(b, safe='')),
    _query_values), max_size=4).map(
        lambda pairs: '&'.join('%s=%s' % p for p in pairs))
_segment = st.one_of(
    st.sampled_from(list(_NODES) + ['cmp-77', test_app.data.VM2]),
    st.binary(min_size=1, max_size=6).map(
        lambda b: urllib.parse.quote(b, safe='')),
    s.text(1, 8).map(lambda t: urllib.parse.quote(t, safe='')))


class TestAPIPathAndQueryProperties(test_app.APITestCase):
    """Any path and query on every GET route (and HEAD): an answer, or a
    4xx in the OpenStack error format; never a 500, nothing written."""

    @hypothesis.settings(max_examples=300)
    @hypothesis.given(st.sampled_from(_GET_ROUTES), _segment, _query,
                      st.sampled_from(['GET', 'HEAD']),
                      st.sampled_from([None, '1.0', '1.1', 'latest']))
    def test_any_path_and_query_is_an_answer_or_a_client_error(
            self, route, segment, query, method, version):
        path = route.replace('{name}', segment).replace('{uuid}', segment)
        before = s.db_dump(db_api.get_engine())
        req = test_app.webob.Request.blank(path + ('?' + query if query
                                                   else ''), method=method)
        for name, value in test_app.ADMIN.items():
            req.headers[name] = value
        if version:
            req.headers['OpenStack-API-Version'] = 'vmguard %s' % version
        resp = req.get_response(self.app)
        self.assertLess(resp.status_int, 500, (path, query, resp.body))
        self.assertEqual('application/json', resp.content_type)
        if method == 'GET' and resp.status_int >= 400:
            error = json.loads(resp.body)['errors'][0]
            self.assertEqual(resp.status_int, error['status'])
            self.assertTrue(error['code'].startswith('vmguard.'))
        if method == 'HEAD':
            self.assertEqual(b'', resp.body)
        self.assertEqual(before, s.db_dump(db_api.get_engine()))
