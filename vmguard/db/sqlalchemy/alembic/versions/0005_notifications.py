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

"""Notifications of other monitors (``POST /v1/notifications``).

The sender's id (``client_id``) is a unique key: a notification posted
twice is stored once, whatever happened to the API in between.

Revision ID: 0005
Revises: 0004_segments
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa

from vmguard.db.sqlalchemy import mysql

revision = '0005'
down_revision = '0004_segments'


def _id():
    return sa.BigInteger().with_variant(sa.Integer, 'sqlite')


def upgrade():
    op.create_table(
        'notifications',
        sa.Column('id', _id(), primary_key=True, autoincrement=True),
        sa.Column('uuid', sa.String(36), nullable=False, unique=True),
        sa.Column('client_id', sa.String(64), nullable=False),
        sa.Column('type', sa.String(16), nullable=False),
        sa.Column('node', sa.String(255), nullable=False),
        sa.Column('vm', sa.String(36), nullable=True),
        sa.Column('service', sa.String(64), nullable=True),
        sa.Column('reason', sa.String(32), nullable=True),
        sa.Column('source', sa.String(64), nullable=True),
        sa.Column('detail', sa.Text, nullable=True),
        sa.Column('generated_at', sa.DateTime, nullable=True),
        sa.Column('user_id', sa.String(255), nullable=True),
        sa.Column('project_id', sa.String(255), nullable=True),
        sa.Column('request_id', sa.String(64), nullable=True),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('message', sa.Text, nullable=True),
        sa.Column('engine', sa.String(255), nullable=True),
        sa.Column('cycle', sa.BigInteger, nullable=True),
        sa.Column('decisions', sa.JSON, nullable=True),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=True),
        sa.UniqueConstraint('client_id',
                            name='uniq_notifications0client_id'),
        sa.Index('notifications_status_idx', 'status'),
        sa.Index('notifications_node_idx', 'node'),
        **mysql.table_options(op.get_bind()))
