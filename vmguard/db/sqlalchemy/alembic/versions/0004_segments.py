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

"""Failover segments and their hosts (reserved hosts included).

Revision ID: 0004_segments
Revises: 0003
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa

from vmguard.db.sqlalchemy import mysql

revision = '0004_segments'
down_revision = '0003'


def upgrade():
    options = mysql.table_options(op.get_bind())
    op.create_table(
        'segments',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('uuid', sa.String(36), nullable=False),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('recovery_method', sa.String(16), nullable=False),
        sa.Column('description', sa.String(255), nullable=True),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=True),
        sa.UniqueConstraint('name', name='uniq_segments0name'),
        sa.UniqueConstraint('uuid', name='uniq_segments0uuid'),
        **options)
    op.create_table(
        'segment_hosts',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('segment_id', sa.Integer,
                  sa.ForeignKey('segments.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('node', sa.String(255), nullable=False),
        sa.Column('reserved', sa.Boolean, nullable=False),
        sa.Column('activated_at', sa.DateTime, nullable=True),
        sa.Column('activated_reason', sa.String(255), nullable=True),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=True),
        sa.UniqueConstraint('node', name='uniq_segment_hosts0node'),
        sa.Index('segment_hosts_segment_idx', 'segment_id'),
        **options)
