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

"""What every rule module shares: the :class:`Rule` interface and helpers.

A rule module holds one SPEC rule: its docstring quotes the SPEC row, its
class the condition, the incident and re-arm logic and the decision lines.
``needs`` names the judges whose outputs (fields of the
:class:`~vmguard.engine.judges.base.Assessment`) the rule reads; the
:class:`~vmguard.engine.rules.RuleBook` refuses to start when a rule is
enabled and one of those judges is not.
"""

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

DOWN = ('stopped', 'failed')


class Rule:
    """One SPEC rule."""

    #: SPEC name (R1..R10).
    name = None
    #: Judges whose outputs this rule reads.
    needs = ()
    #: True for rules that open incidents (R4, R5, R6, R8, R9): their
    #: decisions are made once per incident (see :meth:`ended`).
    incident = False

    def __init__(self, book):
        self.book = book
        self.t = book.t

    def on_snapshot(self, st, a, out):
        """Judge one accepted snapshot (node state ``st``, assessment
        ``a``); append decisions to ``out``."""

    def ended(self, st, a, key):
        """Incident ``key`` of ``st`` ends in cycle ``a.cycle``? Asked
        only for a cycle whose snapshot came in with the node ``normal``;
        True only when the rule's fault is absent in it (SPEC revision 2:
        a counter below its threshold does not end an incident)."""
        return True


def emit(out, decision):
    """Log a decision once, with its rule and evidence, and append it."""
    LOG.info('Decision %s on %s cycle %s: %s vm=%s service=%s '
             'target=%s -- %s', decision.rule, decision.node,
             decision.cycle, decision.action, decision.vm,
             decision.service, decision.target, decision.reason)
    out.append(decision)


def items(not_ok):
    """Hardware items not ok, for a reason text."""
    return ', '.join('%s (%s) %s' % (i, k, h) for i, k, h in not_ok)
