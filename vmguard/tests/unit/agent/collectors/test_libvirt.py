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


import libvirt

from vmguard.agent.collectors import libvirt as lv
from vmguard.objects import records
from vmguard.tests import base as test_base


class _Dom:
    def UUIDString(self):
        return '6f1c5e2a-0000-4000-8000-000000000001'


def c(name):
    return getattr(libvirt, 'VIR_DOMAIN_' + name)


class TestStateNames(test_base.TestCase):

    def test_spec_examples(self):
        for state, reason, expected in (
                ('CRASHED', 'PANICKED', ('crashed', 'panicked')),
                ('SHUTOFF', 'CRASHED', ('shutoff', 'crashed')),
                ('SHUTOFF', 'FAILED', ('shutoff', 'failed')),
                ('PAUSED', 'IOERROR', ('paused', 'ioerror')),
                ('PAUSED', 'WATCHDOG', ('paused', 'watchdog')),
                ('PAUSED', 'CRASHED', ('paused', 'crashed')),
                ('SHUTOFF', 'DESTROYED', ('shutoff', 'destroyed')),
                ('RUNNING', 'BOOTED', ('running', 'booted'))):
            self.assertEqual(expected, lv.state_names(
                c(state), c(state + '_' + reason)))

    def test_every_state_is_a_spec_state(self):
        self.assertEqual(set(records.VM_STATES), set(lv.STATES.values()))
        for reasons in lv.REASONS.values():
            self.assertIn('unknown', reasons.values())
            for name in reasons.values():
                self.assertEqual(name.lower(), name)

    def test_unknown_integers_do_not_fail(self):
        self.assertEqual(('nostate', 'unknown'), lv.state_names(99, 99))
        self.assertEqual(('paused', 'unknown'),
                         lv.state_names(libvirt.VIR_DOMAIN_PAUSED, 99))


class TestCrashEvents(test_base.TestCase):

    def test_crash_class_events(self):
        for event, detail, expected in (
                ('CRASHED', 'PANICKED', ('crashed', 'panicked')),
                ('SUSPENDED', 'WATCHDOG', ('paused', 'watchdog')),
                ('SUSPENDED', 'IOERROR', ('paused', 'ioerror')),
                ('STOPPED', 'FAILED', ('shutoff', 'failed')),
                ('STOPPED', 'CRASHED', ('shutoff', 'crashed'))):
            self.assertEqual(expected, lv.crash_event(
                c('EVENT_' + event), c('EVENT_%s_%s' % (event, detail))))
        self.assertEqual(('crashed', 'unknown'),
                         lv.crash_event(c('EVENT_CRASHED'), 42))

    def test_deliberate_stops_and_pauses_are_not_crashes(self):
        for event, detail in (('STOPPED', 'DESTROYED'),
                              ('STOPPED', 'SHUTDOWN'),
                              ('STOPPED', 'MIGRATED'),
                              ('SUSPENDED', 'PAUSED'),
                              ('STARTED', 'BOOTED')):
            self.assertIsNone(lv.crash_event(
                c('EVENT_' + event), c('EVENT_%s_%s' % (event, detail))))

    def test_callback_hands_crashes_to_the_sink(self):
        collector = lv.LibvirtCollector(self.conf)
        got = []
        collector._sink = lambda *args: got.append(args)
        collector._on_lifecycle(None, _Dom(), c('EVENT_STOPPED'),
                                c('EVENT_STOPPED_DESTROYED'), None)
        collector._on_lifecycle(None, _Dom(), c('EVENT_CRASHED'),
                                c('EVENT_CRASHED_PANICKED'), None)
        self.assertEqual([('6f1c5e2a-0000-4000-8000-000000000001', 'crashed',
                           'panicked', 'libvirt')], got)

    def test_sink_failure_does_not_escape_the_event_loop(self):
        collector = lv.LibvirtCollector(self.conf)

        def sink(*args):
            raise RuntimeError('broker exploded')
        collector._sink = sink
        collector._on_lifecycle(None, _Dom(), c('EVENT_CRASHED'),
                                c('EVENT_CRASHED_PANICKED'), None)
