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

"""The rule book (engine/rules/__init__.py): rules and their judges."""

from vmguard.common import exception
from vmguard.engine import rules
from vmguard.tests import base


class TestRuleBook(base.TestCase):

    def test_every_rule_has_a_module_quoting_its_spec_row(self):
        self.assertEqual(tuple('R%d' % i for i in range(1, 11)),
                         rules.ALL_RULES)
        for cls in rules.RULE_CLASSES:
            module = __import__(cls.__module__, fromlist=['x'])
            self.assertIn(cls.name, module.__doc__.split('\n')[0])

    def test_needs(self):
        rules.check_needs(rules.ALL_RULES, ['host_hardware', 'external',
                                            'services', 'identity',
                                            'vm_crash'])
        exc = self.assertRaises(exception.RuleConfigError,
                                rules.check_needs, ['R7'], ['services'])
        self.assertIn('rule R7 needs judge host_hardware', str(exc))
        exc = self.assertRaises(exception.RuleConfigError,
                                rules.check_needs, ['R11'], [])
        self.assertIn('unknown rule R11', str(exc))
        rules.check_needs(['R9', 'R10'], [])
