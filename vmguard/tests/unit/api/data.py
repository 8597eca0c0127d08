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

"""Rows the API tests read, written through the DB API and the models.

Until the engine writes real data, the API tests insert what it would:
two nodes (cmp-01 failed and disabled by vmguard, cmp-02 normal), their
host-state periods, hardware items with an identity-path change, VMs,
crash events, decisions with evidence and recoveries with Nova actions.
"""

import datetime

from vmguard.db import api as db_api
from vmguard.db.sqlalchemy import api as sqla_api
from vmguard.db.sqlalchemy import models

VM1 = '2b1c0000-0000-4000-8000-000000000001'
VM2 = '2b1c0000-0000-4000-8000-000000000002'
VM3 = '2b1c0000-0000-4000-8000-000000000003'
T0 = datetime.datetime(2026, 11, 26, 10, 0, 0)


def seed(context):
    """Insert the sample rows; return a dict of what tests refer to."""
    n1 = db_api.node_get_or_create(context, 'cmp-01')
    n2 = db_api.node_get_or_create(context, 'cmp-02')
    db_api.node_update(context, 'cmp-01', {
        'last_cycle': 44, 'host_state': 'failed', 'vcpus_free': 10,
        'ram_mb_free': 2048, 'last_report_at': T0, 'disabled': True,
        'disabled_reason': 'R4: host failed (dimm-A1 critical)',
        'disabled_at': T0})
    db_api.node_update(context, 'cmp-02', {
        'last_cycle': 44, 'host_state': 'normal', 'vcpus_free': 30,
        'ram_mb_free': 120000, 'last_report_at': T0})
    with sqla_api._CONTEXT.writer.using(context) as session:
        session.add_all([
            models.HostStatePeriod(node_id=n1.id, state='normal',
                                   cycle_from=1, cycle_to=41, reason=None),
            models.HostStatePeriod(
                node_id=n1.id, state='failed', cycle_from=42, cycle_to=None,
                reason={'hardware': [{'id': 'dimm-A1',
                                      'health': 'critical'}]}),
            models.HostStatePeriod(node_id=n2.id, state='normal',
                                   cycle_from=1, cycle_to=None),
            models.HardwareItem(
                node_id=n1.id, item_id='dimm-A1', kind='memory',
                health='critical', identity='SN-7731', identity_path='oob',
                baseline_path='inband', first_cycle=1, changed_cycle=42),
            models.HardwareItem(
                node_id=n1.id, item_id='disk-0', kind='disk', health='ok',
                identity='WWN-1', identity_path='inband',
                baseline_path='inband', first_cycle=1, changed_cycle=1),
            models.HardwareChange(node_id=n1.id, item_id='dimm-A1', cycle=1,
                                  health='ok', identity='SN-7731',
                                  identity_path='inband'),
            models.HardwareChange(node_id=n1.id, item_id='dimm-A1',
                                  cycle=40, health='ok',
                                  identity='SN-7731', identity_path='oob'),
            models.HardwareChange(node_id=n1.id, item_id='dimm-A1',
                                  cycle=42, health='critical',
                                  identity='SN-7731', identity_path='oob'),
            models.ExternalItem(node_id=n1.id, item_id='nfs-instances',
                                kind='storage', health='ok', since_cycle=1),
            models.ServiceState(node_id=n1.id, name='libvirtd',
                                state='running', since_cycle=1),
            models.VM(uuid=VM1, node_id=n1.id, state='crashed',
                      reason='panicked', vcpus=2, ram_mb=4096,
                      changed_cycle=42),
            models.VM(uuid=VM2, node_id=n1.id, state='running',
                      reason='booted', vcpus=1, ram_mb=1024,
                      changed_cycle=1),
            models.VM(uuid=VM3, node_id=n2.id, state='running',
                      reason='booted', vcpus=4, ram_mb=8192,
                      changed_cycle=1),
            models.VMEvent(node='cmp-01', cycle=42, uuid=VM1,
                           event='crashed', reason='panicked',
                           source='libvirt', created_at=T0),
            models.VMEvent(node='cmp-02', cycle=43, uuid=VM3,
                           event='crashed', reason='panicked',
                           source='nova',
                           created_at=T0 + datetime.timedelta(hours=1)),
        ])
    decisions = []
    for key, values in [
            ('R3:cmp-01:42:' + VM1, dict(
                action='evacuate', vm=VM1, target='cmp-02', rule='R3',
                reason='VM crashed (panicked) while host failed')),
            ('R4:cmp-01:42:migrate', dict(
                action='migrate_all', target='cmp-02', rule='R4',
                reason='host failed: dimm-A1 critical')),
            ('R4:cmp-01:42:disable', dict(
                action='disable_node', rule='R4',
                reason='host failed: dimm-A1 critical')),
            ('R1:cmp-02:43:' + VM3, dict(
                node='cmp-02', cycle=43, action='reboot', vm=VM3,
                rule='R1', reason='VM crashed (panicked) while host '
                                  'normal')),
    ]:
        row = {'incident_key': key, 'node': 'cmp-01', 'cycle': 42,
               'evidence': {'host_state': 'failed', 'cycle': 42},
               'engine': 'engine-1'}
        row.update(values)
        decision, created = db_api.decision_create(context, row)
        assert created
        decisions.append(decision)
    evac = db_api.recovery_get_by_decision(context, decisions[0].id)
    db_api.recovery_transition(context, evac.id, 'running',
                               expected='pending', owner='engine-1')
    db_api.recovery_transition(context, evac.id, 'succeeded',
                               expected='running')
    with sqla_api._CONTEXT.writer.using(context) as session:
        session.add_all([
            models.RecoveryAction(recovery_id=evac.id, server=VM1,
                                  action='force_down', target=None,
                                  status='done', request_id='req-1'),
            models.RecoveryAction(recovery_id=evac.id, server=VM1,
                                  action='evacuate', target='cmp-02',
                                  status='done', request_id='req-2'),
        ])
    evac = db_api.recovery_get_by_decision(context, decisions[0].id)
    return {'decisions': decisions, 'evac_recovery': evac,
            'nodes': (n1, n2)}


TABLES = ('nodes', 'host_state_periods', 'hardware_items',
          'hardware_changes', 'external_items', 'service_states', 'vms',
          'vm_events', 'decisions', 'recoveries', 'recovery_actions',
          'settings', 'notifications')


def dump(engine):
    """Every row of every table: to assert that nothing was written."""
    import sqlalchemy as sa
    result = {}
    with engine.connect() as conn:
        for table in TABLES:
            rows = conn.execute(sa.text('SELECT * FROM %s ORDER BY 1'
                                        % table)).all()
            result[table] = [tuple(r) for r in rows]
    return result
