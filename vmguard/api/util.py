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

"""Helpers of the REST API: errors, JSON, query strings, pagination."""

import datetime
import re
import reprlib
import urllib.parse

import jsonschema
from oslo_serialization import jsonutils
from oslo_utils import timeutils
import webob

import vmguard.conf

CONF = vmguard.conf.CONF

REQUEST_ID_ENVIRON = 'openstack.request_id'
CONTEXT_ENVIRON = 'vmguard.context'

# Error codes of the OpenStack API-SIG error format ("code" member).
UNDEFINED = 'vmguard.undefined_code'
SCHEMA_INVALID = 'vmguard.schema_invalid'
QUERY_INVALID = 'vmguard.query_invalid'
MALFORMED_JSON = 'vmguard.malformed_json'
NOT_AUTHENTICATED = 'vmguard.not_authenticated'
FORBIDDEN = 'vmguard.policy_forbidden'
NOT_FOUND = 'vmguard.not_found'
MICROVERSION = 'vmguard.microversion_invalid'
DB_UNAVAILABLE = 'vmguard.database_unavailable'
TOO_LARGE = 'vmguard.request_too_large'
UNAVAILABLE = 'vmguard.service_unavailable'
CONFLICT = 'vmguard.conflict'

# Integers of the query string: what a BIGINT column holds.
MAX_INT = 2 ** 63 - 1
_INTEGER = re.compile(r'-?[0-9]{1,19}\Z')
# An error message quotes at most this much of a client's value.
_MAX_DETAIL = 300

_TITLES = {
    400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden',
    404: 'Not Found', 405: 'Method Not Allowed', 406: 'Not Acceptable',
    409: 'Conflict', 411: 'Length Required', 413: 'Content Too Large',
    414: 'URI Too Long', 415: 'Unsupported Media Type',
    500: 'Internal Server Error', 503: 'Service Unavailable',
}


class HTTPError(Exception):
    """An error answered to the client in the OpenStack error format."""

    def __init__(self, status, detail, code=UNDEFINED, headers=None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.headers = headers or {}


def error_response(environ, status, detail, code=UNDEFINED, headers=None):
    """A JSON response ``{"errors": [{...}]}`` as the API-SIG defines."""
    title = _TITLES.get(status, 'Error')
    body = {'errors': [{
        'status': status,
        'title': title,
        'detail': detail,
        'code': code,
        'request_id': environ.get(REQUEST_ID_ENVIRON),
    }]}
    response = webob.Response(status='%d %s' % (status, title),
                              content_type='application/json',
                              charset='utf-8')
    response.body = jsonutils.dump_as_bytes(body)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def json_response(data, status=200):
    response = webob.Response(status=status,
                              content_type='application/json',
                              charset='utf-8')
    response.body = jsonutils.dump_as_bytes(data, sort_keys=True)
    return response


def isotime(value):
    """Naive UTC datetime -> '2026-11-26T10:00:00Z' (None stays None)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value.strftime('%Y-%m-%dT%H:%M:%SZ')


def _field_of(error):
    path = '.'.join(str(p) for p in error.absolute_path)
    return path or None


def _describe(error):
    # jsonschema's message quotes the value: never echo a large body.
    message = error.message
    if len(message) > _MAX_DETAIL:
        message = message[:_MAX_DETAIL] + '...'
    field = _field_of(error)
    if field:
        return "field '%s': %s" % (reprlib.repr(field)[1:-1], message)
    return message


def parse_int(value, name, what=None):
    """A query-string integer: ASCII digits, within a BIGINT, or a 400."""
    if _INTEGER.match(value) and -MAX_INT <= int(value) <= MAX_INT:
        return int(value)
    raise HTTPError(400, "Invalid query string: parameter '%s' must be %s."
                    % (name, what or 'an integer between %d and %d'
                       % (-MAX_INT, MAX_INT)), QUERY_INVALID)


def query_of(req):
    """``req.GET``, or a 400 when the query string is not UTF-8."""
    try:
        return req.GET
    except UnicodeDecodeError:
        raise HTTPError(400, 'Invalid query string: it is not valid UTF-8 '
                             'once percent-decoded.', QUERY_INVALID) from None


def validate_body(req, schema):
    """Parse and validate the JSON body of ``req``; return it."""
    if req.content_type != 'application/json':
        raise HTTPError(415, 'The body must be JSON (Content-Type: '
                             'application/json), not %r.'
                        % (req.content_type or None))
    try:
        data = jsonutils.loads(req.body)
    except ValueError as exc:
        raise HTTPError(400, 'Malformed JSON body: %s' % exc,
                        MALFORMED_JSON) from exc
    except RecursionError:
        raise HTTPError(400, 'Malformed JSON body: nested too deep.',
                        MALFORMED_JSON) from None
    _validate(data, schema, 'Invalid body', SCHEMA_INVALID)
    return data


def validate(data, schema, prefix, code=SCHEMA_INVALID):
    """Validate decoded ``data``; a 400 starting with ``prefix``."""
    _validate(data, schema, prefix, code)


def _validate(data, schema, prefix, code):
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.FormatChecker())
    try:
        errors = sorted(validator.iter_errors(data),
                        key=lambda e: (list(e.absolute_path), e.message))
    except RecursionError:
        # A value nested nearly as deep as the JSON decoder allows: the
        # validator's messages (reprs of the value) go deeper still.
        raise HTTPError(400, '%s: nested too deep.' % prefix,
                        code) from None
    if errors:
        raise HTTPError(400, '%s: %s' % (prefix, '; '.join(
            _describe(e) for e in errors)), code)


def validate_query(req, schema):
    """Validate the query string (single-valued parameters) of ``req``."""
    query = {}
    params = query_of(req)
    for key in params.keys():
        values = params.getall(key)
        if len(values) != 1:
            raise HTTPError(400, "Invalid query string: parameter '%s' "
                                 "given %d times." % (key, len(values)),
                            QUERY_INVALID)
        query[key] = values[0]
    for key, prop in schema.get('properties', {}).items():
        if key in query and prop.get('type') == 'integer':
            query[key] = parse_int(query[key], key)
    _validate(query, schema, 'Invalid query string', QUERY_INVALID)
    return query


def parse_since(value):
    """ISO 8601 -> naive UTC datetime, or a 400 naming ``since``."""
    if value is None:
        return None
    try:
        parsed = timeutils.parse_isotime(value)
    except ValueError:
        raise HTTPError(400, "Invalid query string: parameter 'since' must "
                             "be an ISO 8601 date and time, not %r." % value,
                        QUERY_INVALID) from None
    return timeutils.normalize_time(parsed)


def to_bool(value):
    """Query-string boolean ('true'/'false', already schema-checked)."""
    if value is None:
        return None
    return value.lower() in ('true', '1', 'yes')


# Parameters every list accepts; merged into each list's query schema.
PAGINATION = {
    'limit': {'type': 'integer', 'minimum': 1},
    'marker': {'type': 'string', 'minLength': 1, 'maxLength': 255},
    'sort_dir': {'type': 'string', 'enum': ['asc', 'desc']},
}
BOOL_QUERY = {'type': 'string', 'enum': ['true', 'false', 'True', 'False',
                                         '1', '0', 'yes', 'no']}
SINCE = {'type': 'string', 'minLength': 1, 'maxLength': 64}


def query_schema(**properties):
    props = dict(PAGINATION)
    props.update(properties)
    return {'type': 'object', 'properties': props,
            'additionalProperties': False}


def page_limit(query):
    """The page size: ``limit`` capped by ``[api] max_limit``."""
    limit = query.get('limit')
    max_limit = CONF.api.max_limit
    if limit is None or limit > max_limit:
        return max_limit
    return limit


def paged(req, collection, items, limit, marker_of):
    """``{collection: items, "links": [next]}`` for a list response."""
    body = {collection: items, 'links': []}
    if items and len(items) >= limit:
        params = dict(query_of(req))
        params['marker'] = marker_of(items[-1])
        params['limit'] = str(limit)
        next_url = req.path_url + '?' + urllib.parse.urlencode(params)
        body['links'].append({'rel': 'next', 'href': next_url})
    return body


def context_of(req):
    return req.environ[CONTEXT_ENVIRON]
