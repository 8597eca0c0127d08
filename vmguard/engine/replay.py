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

"""``vmguard-manage replay TRACE``: the judgment on a trace file.

Reads JSON lines (snapshots, ``vm_event`` and ``agent_stop`` records,
SPEC.md section 2 and revision 2),
runs them through the same :class:`~vmguard.engine.pipeline.Pipeline` as the
engine, in memory (no broker, database or Nova), and prints each decision
as one JSON line as soon as it is made. Malformed lines (not UTF-8, not
JSON, nested too deep to decode, or not a valid record) and records the
judgment refuses (a cycle more than ``max_cycle_skew`` cycles ahead of the
clock -- here the median of the other nodes' latest cycles --, a crash
event of a node that never sent a snapshot) are reported on stderr with
their line number and skipped.

``--segments FILE`` judges the trace with failover segments (see
:mod:`vmguard.engine.segments`): the targets of the decisions stay
inside the failed node's segment.
"""

import gc
import json
import sys

from oslo_config import cfg

from vmguard.common import exception
from vmguard.engine import pipeline as pipeline_mod
from vmguard.engine import segments as segments_mod
from vmguard.objects import records

EXIT_OK = 0
EXIT_REJECTED = 3

_dumps = json.JSONEncoder(separators=(', ', ': ')).encode
# A UTF-8 byte order mark, as some editors write at the start of a file.
_BOM = b'\xef\xbb\xbf'


def replay(lines, pipeline, emit, report, limits=records.DEFAULT_LIMITS):
    """Feed ``lines`` through ``pipeline``; return the rejected count.

    :param lines: byte strings (a file opened in binary mode, stdin's
        buffer) or text.
    :param emit: called with each decision as it is made.
    :param report: called with (line number, message) for bad lines.
    :param limits: :class:`~vmguard.objects.records.Limits` of a snapshot.
    """
    # The pipeline keeps one snapshot's worth of parsed state per node, so
    # nearly every container allocated for a snapshot survives until that
    # node's next one: with the default gen-0 threshold (700) the cyclic
    # collector runs every few lines and walks that state again and again.
    # The pipeline creates no reference cycles per record; collect rarely.
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], 50000), *thresholds[1:])
    try:
        return _replay(lines, pipeline, emit, report, limits)
    finally:
        gc.set_threshold(*thresholds)


def _replay(lines, pipeline, emit, report, limits):
    rejected = 0
    loads = json.loads
    parse = records.parse_record
    process = pipeline.process
    cache = {}
    for number, line in enumerate(lines, 1):
        if line.__class__ is bytes:
            # A trace is read as bytes: one bad line must not end the
            # replay (a text-mode file raises while iterating), and stdin
            # must not turn bad bytes into surrogate escapes.
            if number == 1 and line.startswith(_BOM):
                line = line[3:]
            try:
                line = line.decode('utf-8')
            except UnicodeDecodeError as exc:
                rejected += 1
                report(number, 'not UTF-8 (byte %d)' % (exc.start + 1))
                continue
        elif number == 1 and line.startswith('\ufeff'):
            line = line[1:]
        if not line or line.isspace():
            continue
        try:
            data = loads(line)
        except ValueError as exc:
            rejected += 1
            report(number, 'not valid JSON: %s' % exc)
            continue
        except RecursionError:
            rejected += 1
            report(number, 'not valid JSON: nested too deep')
            continue
        try:
            record = parse(data, cache, limits)
        except exception.InvalidRecord as exc:
            rejected += 1
            report(number, exc.reason)
            continue
        try:
            decisions = process(record)
        except exception.RecordRejected as exc:
            # Valid, but refused by the judgment: a cycle too far ahead
            # of the clock, a crash event of a node never seen.
            rejected += 1
            report(number, exc.reason)
            continue
        for decision in decisions:
            emit(decision)
    for decision in pipeline.finish():
        emit(decision)
    return rejected


def run(lines, conf=None, stdout=None, stderr=None, pipeline=None,
        segments=None):
    """:param segments: a :class:`~vmguard.engine.segments.SegmentMap`
    the targets of decisions follow (none: the cloud-wide pool)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    if pipeline is None:
        pipeline = pipeline_mod.Pipeline.from_config(conf or cfg.CONF)
    if segments is not None:
        pipeline.set_segments(segments)

    def emit(decision):
        stdout.write(_dumps(decision.to_dict()))
        stdout.write('\n')
        stdout.flush()

    def report(number, message):
        stderr.write('line %d: rejected: %s\n' % (number, message))
        stderr.flush()

    rejected = replay(lines, pipeline, emit, report,
                      records.limits(conf or cfg.CONF))
    if rejected:
        stderr.write('%d line(s) rejected\n' % rejected)
    return EXIT_REJECTED if rejected else EXIT_OK


def main(path, stdout, stderr, conf=None, segments=None):
    """:param segments: path of a segment map file (``--segments``)."""
    segment_map = None
    if segments is not None:
        try:
            segment_map = segments_mod.load_file(segments)
        except segments_mod.SegmentFileError as exc:
            stderr.write('cannot use segments: %s\n' % exc)
            return 2
    if path == '-':
        return run(getattr(sys.stdin, 'buffer', sys.stdin), conf, stdout,
                   stderr, segments=segment_map)
    try:
        f = open(path, 'rb')
    except OSError as exc:
        stderr.write('cannot read trace %s: %s\n' % (path, exc))
        return 2
    with f:
        return run(f, conf, stdout, stderr, segments=segment_map)
