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

"""The fault suite's result table: one row per fault scenario.

Every fault test counts the decisions (or Nova actions) it expected, the
ones vmguard made, the ones that were lost and the ones made twice, and
records them with :func:`record`. Rows go to a JSON-lines file
(``VMGUARD_FAULT_TABLE``, default ``.fault-table.jsonl`` at the top of the
tree) that ``tools/fault_table.py`` prints after the run. The tests assert
``lost == doubled == 0`` themselves; the table is the report.
"""

import collections
import json
import os
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__),
                                    '..', '..', '..', '..'))
TABLE = os.environ.get('VMGUARD_FAULT_TABLE',
                       os.path.join(REPO, '.fault-table.jsonl'))

Row = collections.namedtuple(
    'Row', 'scenario expected made lost doubled detail')


def count(expected, made):
    """Compare two multisets of decision keys.

    *expected* and *made* are iterables of hashable keys (for example
    ``(node, rule, action)`` or ``(server, nova_action)``). Returns
    ``(expected, made, lost, doubled)`` where ``made`` counts distinct
    expected keys that were made, ``lost`` the expected keys never made and
    ``doubled`` every extra occurrence of a key beyond the expected count
    (including keys that were not expected at all).
    """
    want = collections.Counter(expected)
    got = collections.Counter(made)
    lost = sum(max(n - got[k], 0) for k, n in want.items())
    doubled = sum(max(n - want[k], 0) for k, n in got.items())
    made_ok = sum(min(n, got[k]) for k, n in want.items())
    return sum(want.values()), made_ok, lost, doubled


def record(scenario, expected, made, detail=''):
    """Count, append a row to the table file and return the Row."""
    exp, ok, lost, doubled = count(expected, made)
    row = Row(scenario, exp, ok, lost, doubled, detail)
    with open(TABLE, 'a') as out:
        out.write(json.dumps(dict(row._asdict(), at=time.time())) + '\n')
    return row
