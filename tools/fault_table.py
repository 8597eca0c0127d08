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

"""Print the fault suite's table (rows written by the fault tests).

Usage: python tools/fault_table.py [TABLE] [--reset]

Only the newest row of each scenario is shown. ``--reset`` empties the
file (tox does it before the fault suite runs).
"""

import json
import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
DEFAULT = os.environ.get('VMGUARD_FAULT_TABLE',
                         os.path.join(REPO, '.fault-table.jsonl'))
COLUMNS = ('scenario', 'expected', 'made', 'lost', 'doubled', 'detail')


def main(argv):
    args = [a for a in argv if not a.startswith('--')]
    path = args[0] if args else DEFAULT
    if '--reset' in argv:
        open(path, 'w').close()
        return 0
    rows = {}
    try:
        with open(path) as table:
            for line in table:
                if line.strip():
                    row = json.loads(line)
                    rows[row['scenario']] = row
    except FileNotFoundError:
        pass
    if not rows:
        print('fault suite: no rows recorded (%s)' % path)
        return 0
    cells = [[str(row.get(c, '')) for c in COLUMNS] for row in rows.values()]
    widths = [max(len(c), *(len(r[i]) for r in cells))
              for i, c in enumerate(COLUMNS)]
    line = '  '.join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True))
    print('fault suite')
    print(line)
    print('  '.join('-' * w for w in widths))
    for r in cells:
        print('  '.join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
    bad = [r for r in rows.values() if r['lost'] or r['doubled']]
    print('fault suite: %d scenarios, %d with lost or doubled decisions'
          % (len(rows), len(bad)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
