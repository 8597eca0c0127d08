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

"""The result table of the all-in-one demo."""

import textwrap

from vmguard.common import context as vmg_context
from vmguard.db import api as db_api


def _did(context, row, names):
    """The recovery's Nova actions, as the executor recorded them."""
    recovery = db_api.recovery_get_by_decision(context, row.id)
    did = []
    for act in db_api.recovery_action_list(context, recovery.id):
        what = '%s %s' % (act.action.split(':')[0],
                          names.get(act.server, act.server))
        if act.target:
            what += '->%s' % act.target
        did.append('%s (%s)' % (what, act.status))
    status = recovery.status
    if recovery.error and status != 'succeeded':
        status += ': %s' % recovery.error
    return '; '.join(did) or '-', status

def render(results, nodes, driver, out):
    """Print the table of what vmguard saw, decided and did.

    :param results: [(phase, [decision row])] in phase order.
    :param nodes: the simulated nodes (for the VM names).
    :param driver: the fake compute back end (its recorded calls).
    :param out: out(line) prints one line.
    """
    context = vmg_context.get_admin_context()
    header = ('phase', 'node', 'cycle', 'vmguard saw', 'decided',
              'did (recovery, Nova actions)')
    wrap = (5, 5, 10, 34, 30, 44)
    names = {}
    for node in nodes:
        for vm, dom in node.domains.items():
            names[vm] = dom['name']
    rows = []
    for phase, decided in results:
        for row in decided:
            # The evidence the engine stored with the decision.
            seen = row.evidence or {}
            saw = ['host %s' % seen.get('host_state', '?')]
            saw += ['%s %s' % (i[0], i[2])
                    for i in seen.get('not_ok', ())]
            saw += ['%s read via %s (baseline %s) for %s cycles'
                    % (i['id'], i['path'], i['baseline'], i['cycles'])
                    for i in seen.get('identity_lost', ())]
            if row.vm:
                saw.append('VM %s %s/%s' % (
                    names.get(row.vm, row.vm), seen.get('vm_state', '?'),
                    seen.get('vm_reason', '?')))
            what = '%s %s' % (row.rule, row.action)
            if row.vm:
                what += ' %s' % names.get(row.vm, row.vm)
            if row.target:
                what += ' -> %s' % row.target
            did, status = _did(context, row, names)
            rows.append((phase.title.split('.')[0], row.node,
                         str(row.cycle), '; '.join(saw), what,
                         '%s: %s' % (status, did)))
    cells = [[textwrap.wrap(v, w) or ['']
              for v, w in zip(r, wrap, strict=True)] for r in rows]
    widths = [max([len(h)] + [len(line) for c in cells
                              for line in c[i]])
              for i, h in enumerate(header)]
    line = ' | '.join('%-*s' % (w, h) for w, h in zip(widths, header,
                                                  strict=True))
    line = line.rstrip()
    out(line)
    out('-+-'.join('-' * w for w in widths))
    for c in cells:
        for n in range(max(len(x) for x in c)):
            out(' | '.join('%-*s' % (w, x[n] if n < len(x) else '')
                            for w, x in zip(widths, c, strict=True)
                            ).rstrip())
        out('-+-'.join('-' * w for w in widths))
    out('')
    out('What the fake compute back end was asked (as Nova would '
         'be):')
    for call in driver.calls:
        if call[0].startswith(('get_', 'list_')):
            continue
        args = [names.get(a, a) for a in call[1:]
                if not (isinstance(a, str) and a.startswith('req-'))]
        out('  %s(%s)' % (call[0], ', '.join(str(a) for a in args)))
