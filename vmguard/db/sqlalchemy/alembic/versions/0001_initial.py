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

"""Initial schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from alembic import op
import sqlalchemy as sa

revision = '0001'
down_revision = None

_BIGID = sa.BigInteger().with_variant(sa.Integer, 'sqlite')


def upgrade():
    op.create_table(
        'nodes',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('last_cycle', sa.BigInteger, nullable=True),
        sa.Column('last_report_at', sa.DateTime, nullable=True),
        sa.Column('host_state', sa.String(16), nullable=False),
        sa.Column('vcpus_free', sa.Integer, nullable=True),
        sa.Column('ram_mb_free', sa.Integer, nullable=True),
        sa.Column('disabled', sa.Boolean, nullable=False),
        sa.Column('disabled_reason', sa.String(255), nullable=True),
        sa.Column('disabled_at', sa.DateTime, nullable=True),
        sa.Column('maintenance', sa.Boolean, nullable=False),
        sa.Column('dry_run', sa.Boolean, nullable=True),
        sa.Column('judge_state', sa.JSON, nullable=True),
        sa.Column('judge_state_cycle', sa.BigInteger, nullable=True),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=True),
        sa.UniqueConstraint('name', name='uniq_nodes0name'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_table(
        'host_state_periods',
        sa.Column('id', _BIGID, primary_key=True, autoincrement=True),
        sa.Column('node_id', sa.Integer, sa.ForeignKey('nodes.id'),
                  nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('cycle_from', sa.BigInteger, nullable=False),
        sa.Column('cycle_to', sa.BigInteger, nullable=True),
        sa.Column('reason', sa.JSON, nullable=True),
        sa.Column('created_at', sa.DateTime, nullable=False),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('host_state_periods_node_from_idx', 'host_state_periods',
                    ['node_id', 'cycle_from'])
    op.create_table(
        'hardware_items',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('node_id', sa.Integer, sa.ForeignKey('nodes.id'),
                  nullable=False),
        sa.Column('item_id', sa.String(255), nullable=False),
        sa.Column('kind', sa.String(32), nullable=False),
        sa.Column('health', sa.String(16), nullable=False),
        sa.Column('identity', sa.String(255), nullable=True),
        sa.Column('identity_path', sa.String(8), nullable=True),
        sa.Column('baseline_path', sa.String(8), nullable=True),
        sa.Column('first_cycle', sa.BigInteger, nullable=False),
        sa.Column('changed_cycle', sa.BigInteger, nullable=False),
        sa.Column('gone_cycle', sa.BigInteger, nullable=True),
        sa.UniqueConstraint('node_id', 'item_id',
                            name='uniq_hardware_items0node_id0item_id'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_table(
        'hardware_changes',
        sa.Column('id', _BIGID, primary_key=True, autoincrement=True),
        sa.Column('node_id', sa.Integer, sa.ForeignKey('nodes.id'),
                  nullable=False),
        sa.Column('item_id', sa.String(255), nullable=False),
        sa.Column('cycle', sa.BigInteger, nullable=False),
        sa.Column('health', sa.String(16), nullable=False),
        sa.Column('identity', sa.String(255), nullable=True),
        sa.Column('identity_path', sa.String(8), nullable=True),
        sa.Column('created_at', sa.DateTime, nullable=False),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('hardware_changes_node_cycle_idx', 'hardware_changes',
                    ['node_id', 'cycle'])
    op.create_index('hardware_changes_created_idx', 'hardware_changes',
                    ['created_at'])
    op.create_table(
        'external_items',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('node_id', sa.Integer, sa.ForeignKey('nodes.id'),
                  nullable=False),
        sa.Column('item_id', sa.String(255), nullable=False),
        sa.Column('kind', sa.String(32), nullable=False),
        sa.Column('health', sa.String(16), nullable=False),
        sa.Column('since_cycle', sa.BigInteger, nullable=False),
        sa.UniqueConstraint('node_id', 'item_id',
                            name='uniq_external_items0node_id0item_id'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_table(
        'service_states',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('node_id', sa.Integer, sa.ForeignKey('nodes.id'),
                  nullable=False),
        sa.Column('name', sa.String(64), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('since_cycle', sa.BigInteger, nullable=False),
        sa.UniqueConstraint('node_id', 'name',
                            name='uniq_service_states0node_id0name'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_table(
        'vms',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('uuid', sa.String(36), nullable=False),
        sa.Column('node_id', sa.Integer, sa.ForeignKey('nodes.id'),
                  nullable=True),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('reason', sa.String(32), nullable=True),
        sa.Column('vcpus', sa.Integer, nullable=False),
        sa.Column('ram_mb', sa.Integer, nullable=False),
        sa.Column('task_state', sa.String(32), nullable=True),
        sa.Column('changed_cycle', sa.BigInteger, nullable=True),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=True),
        sa.UniqueConstraint('uuid', name='uniq_vms0uuid'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('vms_node_idx', 'vms', ['node_id'])
    op.create_table(
        'vm_events',
        sa.Column('id', _BIGID, primary_key=True, autoincrement=True),
        sa.Column('node', sa.String(255), nullable=False),
        sa.Column('cycle', sa.BigInteger, nullable=False),
        sa.Column('uuid', sa.String(36), nullable=False),
        sa.Column('event', sa.String(32), nullable=False),
        sa.Column('reason', sa.String(32), nullable=True),
        sa.Column('source', sa.String(16), nullable=False),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.UniqueConstraint('node', 'cycle', 'uuid', 'event', 'source',
                            name='uniq_vm_events0key'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('vm_events_created_idx', 'vm_events', ['created_at'])
    op.create_table(
        'decisions',
        sa.Column('id', _BIGID, primary_key=True, autoincrement=True),
        sa.Column('uuid', sa.String(36), nullable=False, unique=True),
        sa.Column('incident_key', sa.String(255), nullable=False),
        sa.Column('node', sa.String(255), nullable=False),
        sa.Column('cycle', sa.BigInteger, nullable=False),
        sa.Column('action', sa.String(32), nullable=False),
        sa.Column('vm', sa.String(36), nullable=True),
        sa.Column('service', sa.String(64), nullable=True),
        sa.Column('target', sa.String(255), nullable=True),
        sa.Column('rule', sa.String(8), nullable=False),
        sa.Column('reason', sa.Text, nullable=False),
        sa.Column('evidence', sa.JSON, nullable=True),
        sa.Column('engine', sa.String(255), nullable=True),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.UniqueConstraint('incident_key', name='uniq_decisions0incident'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('decisions_node_cycle_idx', 'decisions',
                    ['node', 'cycle'])
    op.create_index('decisions_created_idx', 'decisions', ['created_at'])
    op.create_table(
        'recoveries',
        sa.Column('id', _BIGID, primary_key=True, autoincrement=True),
        sa.Column('uuid', sa.String(36), nullable=False, unique=True),
        sa.Column('decision_id', _BIGID,
                  sa.ForeignKey('decisions.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('owner', sa.String(255), nullable=True),
        sa.Column('attempts', sa.Integer, nullable=False),
        sa.Column('error', sa.Text, nullable=True),
        sa.Column('started_at', sa.DateTime, nullable=True),
        sa.Column('finished_at', sa.DateTime, nullable=True),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=True),
        sa.UniqueConstraint('decision_id',
                            name='uniq_recoveries0decision_id'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('recoveries_status_idx', 'recoveries', ['status'])
    op.create_table(
        'recovery_actions',
        sa.Column('id', _BIGID, primary_key=True, autoincrement=True),
        sa.Column('recovery_id', _BIGID,
                  sa.ForeignKey('recoveries.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('server', sa.String(255), nullable=False),
        sa.Column('action', sa.String(32), nullable=False),
        sa.Column('target', sa.String(255), nullable=True),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('request_id', sa.String(64), nullable=True),
        sa.Column('detail', sa.Text, nullable=True),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=True),
        sa.UniqueConstraint('recovery_id', 'server', 'action',
                            name='uniq_recovery_actions0key'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
