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

import os

import hypothesis
from hypothesis import strategies as st

from vmguard.objects import text
from vmguard.tests import base
from vmguard.tests.unit.properties import strategies  # noqa: F401 profile


class TestText(base.TestCase):

    def test_text_and_not_text(self):
        for good in ('cmp-1', 'cmp\u00a01', 'caf\u00e9', '\U0001f4be', ''):
            self.assertTrue(text.is_text(good), good)
        for bad in ('a\nb', 'a\rb', '\x00', '\x1b[31m', '\x7f', '\x85',
                    'a\u2028b', '\ud800', 'x\udcff'):
            self.assertFalse(text.is_text(bad), ascii(bad))

    def test_printable_for_logs(self):
        self.assertEqual('cmp-1', text.printable('cmp-1', 255))
        shown = text.printable('cmp-1\nWARNING forged', 255)
        self.assertNotIn('\n', shown)
        self.assertIn('\\n', shown)
        self.assertEqual('7', text.printable(7, 255))
        self.assertTrue(text.printable('x' * 300, 255).isascii())

    def test_escape_a_name_read_from_the_system(self):
        # An interface name that is not UTF-8, as os.listdir gives it.
        name = os.fsdecode(b'eth\xff0')
        self.assertFalse(text.is_text(name))
        self.assertEqual('eth\\xff0', text.escape(name))
        self.assertEqual('SN\\x01-1', text.escape('SN\x01-1'))
        self.assertEqual('a\\nb', text.escape('a\nb'))
        self.assertEqual('cmp-1', text.escape('cmp-1'))
        self.assertEqual('a\\xed\\xa0\\x80', text.escape('a\ud800'))

    @hypothesis.given(st.binary(max_size=20).map(os.fsdecode)
                      | st.text(st.characters(), max_size=20)
                      | st.text(st.characters(categories=['Cs', 'Cc']),
                                max_size=5))
    def test_escape_always_gives_text(self, value):
        self.assertTrue(text.is_text(text.escape(value)), ascii(value))
