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

"""Print the last stestr run as one closing line: "N passed, N failed",
after the ids of the tests that failed."""

import subprocess
import sys


def main():
    proc = subprocess.run(['stestr', 'last', '--subunit'],
                          capture_output=True, check=False)
    if proc.returncode not in (0, 1) or not proc.stdout:
        print('tests: no stestr run recorded')
        return 0
    import subunit
    import testtools

    passed = failed = skipped = 0
    stream = subunit.ByteStreamToStreamResult(
        __import__('io').BytesIO(proc.stdout), non_subunit_name='stdout')
    summary = testtools.StreamSummary()
    statuses = {}

    class _Collect(testtools.StreamResult):
        def status(self, test_id=None, test_status=None, **kw):
            if test_id and test_status in ('success', 'fail', 'skip',
                                           'xfail', 'uxsuccess'):
                statuses[test_id] = test_status

    result = testtools.CopyStreamResult([summary, _Collect()])
    result.startTestRun()
    stream.run(result)
    result.stopTestRun()
    failures = []
    for test_id, status in sorted(statuses.items()):
        if status in ('success', 'xfail'):
            passed += 1
        elif status == 'skip':
            skipped += 1
        else:
            failed += 1
            failures.append(test_id)
    # Named at the very end of the output, where a CI log's tail shows
    # them (the tracebacks are further up, and in "stestr last").
    for test_id in failures:
        print('FAILED: %s' % test_id)
    print('tests: %d passed, %d failed, %d skipped'
          % (passed, failed, skipped))
    return 0


if __name__ == '__main__':
    sys.exit(main())
