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

"""The status page: its static files and the two reads it adds to /v1.

``GET /dashboard`` and ``/dashboard/static/<file>`` serve the page (HTML,
JavaScript, CSS shipped in ``vmguard/api/static``). They hold no data and
need no token: the page asks for one (or, with ``[api] auth_strategy =
noauth``, for identity headers), keeps it in the browser's
``sessionStorage`` and reads everything it shows from ``/v1`` with it, so
the policy of each read applies.

Two reads exist for the page only (microversion 1.2):

* ``GET /v1/dashboard/timeline`` -- every node's host state over a range
  of cycles (``since_cycle``..``until_cycle``, or the last ``cycles``
  [360, from the first stored cycle at most] up to ``until_cycle`` [the
  newest], one node with ``node``) as
  bands ``[first, last, state]`` (``silent``: cycles without a snapshot),
  and the decisions made in the range, in a few queries;
* ``GET /v1/dashboard/nodes/{name}/cycles/{cycle}`` -- what was not ok on
  a node in one cycle (hardware items not ``ok``, items read through a
  worse identity path than their baseline, failed external items).
"""

import os

from oslo_log import log as logging
import webob

from vmguard.api import microversion
from vmguard.api import util
from vmguard.common import exception
from vmguard.db.sqlalchemy import dashboard as db_dashboard
from vmguard import policy
from vmguard.policies import dashboard as policies
from vmguard.policies import decisions as decision_policies
from vmguard.policies import nodes as node_policies

LOG = logging.getLogger(__name__)

STATIC_DIR = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'static')
# The files the page is made of; nothing else is served from STATIC_DIR.
STATIC_FILES = {
    'dashboard.js': 'application/javascript',
    'dashboard.css': 'text/css',
}
PAGE = 'dashboard.html'
# The route template is listed too: it needs no policy rule.
PUBLIC_PATHS = frozenset(['/dashboard', '/dashboard/static/{filename}'] + [
    '/dashboard/static/%s' % name for name in STATIC_FILES])
API_VERSION = '1.2'   # of the two reads

# The page's own files only; data comes from the same origin's /v1.
SECURITY_HEADERS = {
    'Content-Security-Policy': (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; form-action 'none'; "
        "frame-ancestors 'none'; base-uri 'none'"),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-cache',
}

# Cycles shown when the query gives none, and the most one answer covers.
DEFAULT_CYCLES = 360
MAX_CYCLES = 10000
# A node whose latest snapshot is this many cycles behind the newest one
# is shown silent for the missing cycles (one cycle behind is arrival
# jitter: its snapshot of the newest cycle is on its way).
SILENT_AFTER = 2

_CYCLE = {'type': 'integer', 'minimum': 0}
TIMELINE_QUERY = {
    'type': 'object',
    'properties': {
        'since_cycle': _CYCLE,
        'until_cycle': _CYCLE,
        'cycles': {'type': 'integer', 'minimum': 1, 'maximum': MAX_CYCLES},
        'node': {'type': 'string', 'minLength': 1, 'maxLength': 255},
    },
    'additionalProperties': False,
}
NO_QUERY = {'type': 'object', 'properties': {},
            'additionalProperties': False}
PATH_RANK = {'inband': 2, 'oob': 1, 'none': 0}


def _file(name, content_type):
    try:
        with open(os.path.join(STATIC_DIR, name), 'rb') as f:
            body = f.read()
    except OSError:
        LOG.error('Status page file %s missing from %s', name, STATIC_DIR)
        raise util.HTTPError(404, 'The status page file %s is not '
                                  'installed.' % name,
                             util.NOT_FOUND) from None
    response = webob.Response(body=body, content_type=content_type,
                              charset='utf-8')
    for key, value in SECURITY_HEADERS.items():
        response.headers[key] = value
    return response


def page(req):
    if req.path_info.endswith('/'):
        # Its files are addressed relative to ``.../dashboard``.
        response = webob.Response(status=301)
        response.location = req.path_url.rstrip('/')
        return response
    return _file(PAGE, 'text/html')


def static(req, filename):
    content_type = STATIC_FILES.get(filename)
    if content_type is None:
        raise util.HTTPError(404, 'The resource %s could not be found.'
                             % req.path_info, util.NOT_FOUND)
    return _file(filename, content_type)


def _bands(periods, last_cycle, latest, cycle_from, cycle_to):
    """Periods -> [first, last, state] within the range, gaps silent."""
    bands = []
    previous_end = None
    for state, first, last in periods:
        if last is None:
            last = last_cycle if last_cycle is not None else first
        if previous_end is not None and first > previous_end + 1:
            bands.append([previous_end + 1, first - 1, 'silent'])
        bands.append([first, last, state])
        previous_end = last if previous_end is None else max(previous_end,
                                                             last)
    if (previous_end is not None and latest is not None
            and latest - previous_end >= SILENT_AFTER):
        bands.append([previous_end + 1, latest, 'silent'])
    clipped = []
    for first, last, state in bands:
        first, last = max(first, cycle_from), min(last, cycle_to)
        if first <= last:
            clipped.append([first, last, state])
    return clipped


@microversion.min_version(API_VERSION)
def timeline(req):
    context = util.context_of(req)
    policy.authorize(context, policies.TIMELINE)
    policy.authorize(context, node_policies.LIST)
    policy.authorize(context, decision_policies.LIST)
    query = util.validate_query(req, TIMELINE_QUERY)
    first, latest = db_dashboard.cycle_bounds(context)
    cycle_to = query.get('until_cycle')
    if cycle_to is None:
        cycle_to = latest if latest is not None else 0
    cycle_from = query.get('since_cycle')
    if cycle_from is None:
        cycles = query.get('cycles', DEFAULT_CYCLES)
        # No earlier than the first stored cycle: a young cloud fills
        # the width.
        cycle_from = max(0, cycle_to - cycles + 1,
                         min(first or 0, cycle_to))
    if cycle_from > cycle_to:
        raise util.HTTPError(400, "Invalid query string: 'since_cycle' "
                                  "(%d) is after 'until_cycle' (%d)."
                             % (cycle_from, cycle_to), util.QUERY_INVALID)
    if cycle_to - cycle_from + 1 > MAX_CYCLES:
        raise util.HTTPError(400, 'Invalid query string: at most %d cycles '
                                  'per request, asked for %d.'
                             % (MAX_CYCLES, cycle_to - cycle_from + 1),
                             util.QUERY_INVALID)
    nodes, periods, decisions = db_dashboard.timeline(
        context, cycle_from, cycle_to, node=query.get('node'))
    body = {
        'since_cycle': cycle_from,
        'until_cycle': cycle_to,
        'latest_cycle': latest,
        'nodes': [{
            'name': n.name,
            'host_state': n.host_state,
            'last_cycle': n.last_cycle,
            'bands': _bands(periods[n.id], n.last_cycle, latest,
                            cycle_from, cycle_to),
        } for n in nodes],
        'decisions': [{'node': d[0], 'cycle': d[1], 'rule': d[2],
                       'action': d[3], 'uuid': d[4]} for d in decisions],
    }
    return util.json_response(body)


def _item_states(detail, cycle):
    """Hardware items at ``cycle``: {id: dict(kind, health, path...)}."""
    period = detail['period']
    reason = (period.reason or {}) if period is not None else {}
    start = period.cycle_from if period is not None else None
    states = {}
    for item_id, item in detail['items'].items():
        if item.first_cycle > cycle or (item.gone_cycle is not None
                                        and item.gone_cycle <= cycle):
            continue
        states[item_id] = {
            'id': item_id, 'kind': item.kind, 'health': 'ok',
            'identity': item.identity,
            'identity_path': item.baseline_path,
            'baseline_path': item.baseline_path,
        }
    # Health: as the period's reason says at its start, then its changes.
    for entry in reason.get('not_ok', ()):
        item_id, kind, health = (list(entry) + [None, None, None])[:3]
        if item_id in states:
            states[item_id]['health'] = health
        else:
            states[item_id] = {'id': item_id, 'kind': kind,
                               'health': health, 'identity': None,
                               'identity_path': None,
                               'baseline_path': None}
    for change in detail['changes']:
        state = states.get(change.item_id)
        if state is None:
            continue
        state['identity'] = change.identity
        state['identity_path'] = change.identity_path
        if start is not None and change.cycle > start:
            state['health'] = change.health
    return states


@microversion.min_version(API_VERSION)
def cycle(req, name, cycle):
    context = util.context_of(req)
    policy.authorize(context, policies.CYCLE)
    policy.authorize(context, node_policies.SHOW)
    util.validate_query(req, NO_QUERY)
    try:
        number = int(cycle)
    except ValueError:
        raise util.HTTPError(404, 'The resource %s could not be found: '
                                  'the cycle must be a number.'
                             % req.path_info, util.NOT_FOUND) from None
    try:
        detail = db_dashboard.cycle_detail(context, name, number)
    except exception.NodeNotFound as exc:
        raise util.HTTPError(404, exc.message, util.NOT_FOUND) from None
    period = detail['period']
    node = detail['node']
    states = _item_states(detail, number)
    not_ok = sorted((s for s in states.values() if s['health'] != 'ok'),
                    key=lambda s: s['id'])
    off_path = sorted((
        s for s in states.values()
        if s['baseline_path'] in PATH_RANK
        and s['identity_path'] in PATH_RANK
        and PATH_RANK[s['identity_path']] < PATH_RANK[s['baseline_path']]),
        key=lambda s: s['id'])
    reported = (period is not None and node.last_cycle is not None
                and number <= node.last_cycle)
    body = {
        'node': name,
        'cycle': number,
        'host_state': period.state if reported else 'silent',
        'period': None if period is None else {
            'state': period.state,
            'cycle_from': period.cycle_from,
            'cycle_to': period.cycle_to,
            'reason': period.reason,
        },
        'not_ok': not_ok,
        'off_baseline_path': off_path,
        'external_failed': list(
            ((period.reason or {}) if period is not None else {})
            .get('external_failed', ())),
    }
    return util.json_response({'cycle': body})
