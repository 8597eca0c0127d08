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
from unittest import mock

import fixtures
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


class _GuestDom:
    """A domain as the collector reads it each cycle."""

    def __init__(self, uuid, state, dom_id, xml='<domain/>'):
        self.uuid, self.st, self.dom_id, self.xml = uuid, state, dom_id, xml

    def state(self):
        return self.st

    def info(self):
        return [self.st[0], 262144, 262144, 1, 0]

    def UUIDString(self):
        return self.uuid

    def ID(self):
        return self.dom_id

    def XMLDesc(self, _flags):
        return self.xml


class _Conn:
    def __init__(self, doms):
        self.doms = doms

    def listAllDomains(self):
        return self.doms

    def getInfo(self):
        return ['x86_64', 4096, 4]


RUNNING = (c('RUNNING'), c('RUNNING_BOOTED'))
PAUSED = (c('PAUSED'), c('PAUSED_USER'))
AGENT_XML = "<channel><target name='org.qemu.guest_agent.0'/></channel>"


class TestGuestFaults(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.events = []

    def collector(self):
        collector = lv.LibvirtCollector(self.conf)
        # What start(sink) sets, without its threads.
        collector._sink = lambda *a: self.events.append(a)
        if collector._console is not None:
            collector._console._sink = collector._sink
        return collector

    def vms(self, collector, doms):
        return {v.uuid: (v.state, v.reason)
                for v in collector._collect(_Conn(doms)).vms}

    def test_detectors_are_off_by_default(self):
        collector = self.collector()
        self.assertIsNone(collector._console)
        self.assertIsNone(collector._prober)

    def test_console_panic_only_on_the_running_run_that_panicked(self):
        self.flags(console_log_detection=True,
                   console_log_path=os.path.join(self.tmp, '{uuid}.log'),
                   group='agent')
        collector = self.collector()
        doms = [_GuestDom('u-run', RUNNING, 5),
                _GuestDom('u-paused', PAUSED, 6)]
        self.assertEqual({'u-run': ('running', 'booted'),
                          'u-paused': ('paused', 'user')},
                         self.vms(collector, doms))
        for uuid in ('u-run', 'u-paused'):
            with open(os.path.join(self.tmp, uuid + '.log'), 'wb') as f:
                f.write(b'Kernel panic - not syncing: NMI\n')
        vms = self.vms(collector, doms)
        self.assertEqual(('crashed', 'panicked'), vms['u-run'])
        # libvirt's own state wins over a console panic when not running.
        self.assertEqual(('paused', 'user'), vms['u-paused'])
        self.assertEqual(2, len(self.events))
        doms[0].dom_id = 9  # Nova's hard reboot: a new run
        self.assertEqual(('running', 'booted'),
                         self.vms(collector, doms)['u-run'])

    def test_started_event_follows_a_new_run_at_once(self):
        self.flags(console_log_detection=True,
                   console_log_path=os.path.join(self.tmp, '{uuid}.log'),
                   group='agent')
        collector = self.collector()
        dom = _GuestDom('u-new', RUNNING, 3)
        collector._on_lifecycle(None, dom, c('EVENT_STARTED'),
                                c('EVENT_STARTED_BOOTED'), None)
        with open(os.path.join(self.tmp, 'u-new.log'), 'wb') as f:
            f.write(b'Kernel panic - not syncing: Fatal exception\n')
        collector._console.poll()  # what its thread does
        self.assertEqual([('u-new', 'crashed', 'panicked', 'console')],
                         self.events)

    def test_silent_guest_agent_hung_and_reported_once(self):
        self.flags(guest_agent_detection=True, hang_cycles=2,
                   group='agent')
        answers = [True, False, False, False]

        def ping(_dom):
            if not answers.pop(0):
                raise lv.libvirt.libvirtError('agent not responding')
        with mock.patch.object(lv.guestfaults, 'libvirt_ping',
                               return_value=ping):
            collector = self.collector()
        doms = [_GuestDom('u-ga', RUNNING, 4, xml=AGENT_XML),
                _GuestDom('u-none', RUNNING, 5)]
        states = [self.vms(collector, doms)['u-ga'] for _ in range(4)]
        self.assertEqual([('running', 'booted'), ('running', 'booted'),
                          ('crashed', 'hung'), ('crashed', 'hung')], states)
        self.assertEqual([('u-ga', 'crashed', 'hung', 'guest-agent')],
                         self.events)
        self.assertEqual(('running', 'booted'),
                         self.vms(collector, doms[1:])['u-none'])
