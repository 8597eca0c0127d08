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

"""python -m vmguard.bench NAME [options]: run one benchmark.

Each benchmark is a module ``vmguard.bench.NAME`` with ``main(argv)``.
Benchmarks report ratios against a baseline measured in the same run.
"""

import importlib
import sys

BENCHMARKS = ('replay', 'ingest', 'e2e', 'dashboard')


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in BENCHMARKS:
        sys.stderr.write('usage: python -m vmguard.bench {%s} [options]\n'
                         % '|'.join(BENCHMARKS))
        return 2
    try:
        module = importlib.import_module('vmguard.bench.%s' % argv[0])
    except ImportError as exc:
        sys.stderr.write('benchmark %s is not available: %s\n'
                         % (argv[0], exc))
        return 2
    return module.main(argv[1:])


if __name__ == '__main__':
    sys.exit(main())
