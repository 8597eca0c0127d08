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

"""Text that every layer can hold and print (SPEC.md, "One validator").

A JSON string may hold an unpaired UTF-16 surrogate (the escape \\ud800
alone): such a string has no UTF-8 form, and no database column can store
it. Control characters (C0, DEL, C1) and the line and paragraph separators
break log lines and terminals: a newline in a node name would forge a log
line.
"""

import re
import reprlib

_NOT_TEXT = re.compile('[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]')


def is_text(v):
    """``v`` (a str) is printable text with a UTF-8 form.

    ``str.isprintable`` is the fast check: it is false for every character
    refused here (and for some accepted ones: the regex decides those).
    """
    return v.isprintable() or _NOT_TEXT.search(v) is None


def what_is_wrong(v):
    """What makes ``v`` (refused by :func:`is_text`) not text."""
    found = _NOT_TEXT.search(v)
    c = found.group()
    what = ('an unpaired surrogate' if '\ud800' <= c <= '\udfff'
            else 'a control character')
    return '%s (U+%04X at offset %d)' % (what, ord(c), found.start())


def printable(value, max_len):
    """``value`` as it may appear in a log line: a valid name as it is,
    anything else as a short ASCII repr (no newline, no control
    character: a node name cannot forge a line)."""
    if (value.__class__ is str and len(value) <= max_len
            and is_text(value)):
        return value
    return reprlib.repr(value).encode('ascii', 'backslashreplace').decode()


def escape(value):
    """``value`` made valid text, for a collector's names and ids.

    A name read from the system (an interface name that is not UTF-8,
    decoded with ``surrogateescape``; a serial number with a control byte)
    would make the engine reject the node's whole snapshot -- and a node
    whose snapshots are all rejected looks silent. Printable text is
    returned as it is; otherwise each undecodable byte becomes ``\\xNN``
    and each control character its ``\\n``/``\\xNN``/``\\uNNNN`` escape.
    """
    if is_text(value):
        return value
    try:
        raw = value.encode('utf-8', 'surrogateescape')
    except UnicodeEncodeError:
        # A surrogate that is no escaped byte (from a JSON "\ud800").
        raw = value.encode('utf-8', 'surrogatepass')
    decoded = raw.decode('utf-8', 'backslashreplace')
    return _NOT_TEXT.sub(
        lambda m: m.group().encode('unicode_escape').decode('ascii'),
        decoded)
