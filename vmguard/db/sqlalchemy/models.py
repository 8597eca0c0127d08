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

"""SQLAlchemy models of vmguard.

Sized for 1,000 nodes at a 10 s cycle: vmguard stores *changes*, not every
cycle. A node row carries its latest cycle; host state, hardware items,
external items and services get a row when they change (a period with a
start and an end cycle, or a change record), so a steady cloud writes one
UPDATE per node per cycle and nothing else. Decisions and recoveries are
the audit trail. History older than the ``[retention]`` ages is purged.
"""

import datetime

import sqlalchemy as sa
from sqlalchemy import orm


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class Base(orm.DeclarativeBase):
    type_annotation_map = {}


class TimestampMixin:
    created_at = sa.Column(sa.DateTime, nullable=False, default=_utcnow)
    updated_at = sa.Column(sa.DateTime, nullable=True, onupdate=_utcnow)


class Node(TimestampMixin, Base):
    """A compute node as vmguard knows it."""

    __tablename__ = 'nodes'
    __table_args__ = (
        sa.UniqueConstraint('name', name='uniq_nodes0name'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    name = sa.Column(sa.String(255), nullable=False)
    # Latest cycle reported and its wall-clock arrival (R9 silent nodes).
    last_cycle = sa.Column(sa.BigInteger, nullable=True)
    last_report_at = sa.Column(sa.DateTime, nullable=True)
    host_state = sa.Column(sa.String(16), nullable=False, default='unknown')
    vcpus_free = sa.Column(sa.Integer, nullable=True)
    ram_mb_free = sa.Column(sa.Integer, nullable=True)
    # Set by vmguard (R4/R5/R6/R8/R9); cleared only by an operator.
    disabled = sa.Column(sa.Boolean, nullable=False, default=False)
    disabled_reason = sa.Column(sa.String(255), nullable=True)
    disabled_at = sa.Column(sa.DateTime, nullable=True)
    # Operator switches.
    maintenance = sa.Column(sa.Boolean, nullable=False, default=False)
    dry_run = sa.Column(sa.Boolean, nullable=True)  # None: global default
    # Judgment state of the rule windows (counters, baselines), so that an
    # engine that takes a node over continues where the last one stopped.
    judge_state = sa.Column(sa.JSON, nullable=True)
    judge_state_cycle = sa.Column(sa.BigInteger, nullable=True)


class HostStatePeriod(Base):
    """A run of consecutive cycles with the same host state.

    The open period (``cycle_to`` NULL) ends at ``nodes.last_cycle``.
    """

    __tablename__ = 'host_state_periods'
    __table_args__ = (
        sa.Index('host_state_periods_node_from_idx', 'node_id',
                 'cycle_from'),
    )

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, 'sqlite'),
                   primary_key=True, autoincrement=True)
    node_id = sa.Column(sa.Integer, sa.ForeignKey('nodes.id'),
                        nullable=False)
    state = sa.Column(sa.String(16), nullable=False)
    cycle_from = sa.Column(sa.BigInteger, nullable=False)
    cycle_to = sa.Column(sa.BigInteger, nullable=True)
    # Why: the items that were not ok when the period began.
    reason = sa.Column(sa.JSON, nullable=True)
    created_at = sa.Column(sa.DateTime, nullable=False, default=_utcnow)


class HardwareItem(Base):
    """Current view of one hardware item of a node."""

    __tablename__ = 'hardware_items'
    __table_args__ = (
        sa.UniqueConstraint('node_id', 'item_id',
                            name='uniq_hardware_items0node_id0item_id'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    node_id = sa.Column(sa.Integer, sa.ForeignKey('nodes.id'),
                        nullable=False)
    item_id = sa.Column(sa.String(255), nullable=False)
    kind = sa.Column(sa.String(32), nullable=False)
    health = sa.Column(sa.String(16), nullable=False)
    identity = sa.Column(sa.String(255), nullable=True)
    identity_path = sa.Column(sa.String(8), nullable=True)
    # Path of the identity while the item was healthy (R5).
    baseline_path = sa.Column(sa.String(8), nullable=True)
    first_cycle = sa.Column(sa.BigInteger, nullable=False)
    changed_cycle = sa.Column(sa.BigInteger, nullable=False)
    # Set when the item stopped being reported.
    gone_cycle = sa.Column(sa.BigInteger, nullable=True)


class HardwareChange(Base):
    """History: health, identity or identity path of an item changed."""

    __tablename__ = 'hardware_changes'
    __table_args__ = (
        sa.Index('hardware_changes_node_cycle_idx', 'node_id', 'cycle'),
        sa.Index('hardware_changes_created_idx', 'created_at'),
    )

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, 'sqlite'),
                   primary_key=True, autoincrement=True)
    node_id = sa.Column(sa.Integer, sa.ForeignKey('nodes.id'),
                        nullable=False)
    item_id = sa.Column(sa.String(255), nullable=False)
    cycle = sa.Column(sa.BigInteger, nullable=False)
    health = sa.Column(sa.String(16), nullable=False)
    identity = sa.Column(sa.String(255), nullable=True)
    identity_path = sa.Column(sa.String(8), nullable=True)
    created_at = sa.Column(sa.DateTime, nullable=False, default=_utcnow)


class ExternalItem(Base):
    """Current state of an external dependency (storage, uplink)."""

    __tablename__ = 'external_items'
    __table_args__ = (
        sa.UniqueConstraint('node_id', 'item_id',
                            name='uniq_external_items0node_id0item_id'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    node_id = sa.Column(sa.Integer, sa.ForeignKey('nodes.id'),
                        nullable=False)
    item_id = sa.Column(sa.String(255), nullable=False)
    kind = sa.Column(sa.String(32), nullable=False)
    health = sa.Column(sa.String(16), nullable=False)
    since_cycle = sa.Column(sa.BigInteger, nullable=False)


class ServiceState(Base):
    """Current state of a service component of a node."""

    __tablename__ = 'service_states'
    __table_args__ = (
        sa.UniqueConstraint('node_id', 'name',
                            name='uniq_service_states0node_id0name'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    node_id = sa.Column(sa.Integer, sa.ForeignKey('nodes.id'),
                        nullable=False)
    name = sa.Column(sa.String(64), nullable=False)
    state = sa.Column(sa.String(16), nullable=False)
    since_cycle = sa.Column(sa.BigInteger, nullable=False)


class VM(TimestampMixin, Base):
    """A VM as last seen (one row per instance, updated on change)."""

    __tablename__ = 'vms'
    __table_args__ = (
        sa.UniqueConstraint('uuid', name='uniq_vms0uuid'),
        sa.Index('vms_node_idx', 'node_id'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    uuid = sa.Column(sa.String(36), nullable=False)
    node_id = sa.Column(sa.Integer, sa.ForeignKey('nodes.id'),
                        nullable=True)
    state = sa.Column(sa.String(16), nullable=False)
    reason = sa.Column(sa.String(32), nullable=True)
    vcpus = sa.Column(sa.Integer, nullable=False, default=0)
    ram_mb = sa.Column(sa.Integer, nullable=False, default=0)
    # From Nova's notifications: a VM in a Nova task is never "crashed".
    task_state = sa.Column(sa.String(32), nullable=True)
    changed_cycle = sa.Column(sa.BigInteger, nullable=True)


class VMEvent(Base):
    """A crash event (libvirt lifecycle, Nova notification)."""

    __tablename__ = 'vm_events'
    __table_args__ = (
        sa.UniqueConstraint('node', 'cycle', 'uuid', 'event', 'source',
                            name='uniq_vm_events0key'),
        sa.Index('vm_events_created_idx', 'created_at'),
    )

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, 'sqlite'),
                   primary_key=True, autoincrement=True)
    node = sa.Column(sa.String(255), nullable=False)
    cycle = sa.Column(sa.BigInteger, nullable=False)
    uuid = sa.Column(sa.String(36), nullable=False)
    event = sa.Column(sa.String(32), nullable=False)
    reason = sa.Column(sa.String(32), nullable=True)
    source = sa.Column(sa.String(16), nullable=False, default='libvirt')
    created_at = sa.Column(sa.DateTime, nullable=False, default=_utcnow)


class Decision(Base):
    """A decision of the judgment core (SPEC.md section 2) and evidence.

    ``incident_key`` is unique: two engines that judge the same incident
    (ownership moving between them) cannot both store, and so cannot both
    execute, the same decision.
    """

    __tablename__ = 'decisions'
    __table_args__ = (
        sa.UniqueConstraint('incident_key', name='uniq_decisions0incident'),
        sa.Index('decisions_node_cycle_idx', 'node', 'cycle'),
        sa.Index('decisions_created_idx', 'created_at'),
    )

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, 'sqlite'),
                   primary_key=True, autoincrement=True)
    uuid = sa.Column(sa.String(36), nullable=False, unique=True)
    incident_key = sa.Column(sa.String(255), nullable=False)
    node = sa.Column(sa.String(255), nullable=False)
    cycle = sa.Column(sa.BigInteger, nullable=False)
    action = sa.Column(sa.String(32), nullable=False)
    vm = sa.Column(sa.String(36), nullable=True)
    service = sa.Column(sa.String(64), nullable=True)
    target = sa.Column(sa.String(255), nullable=True)
    rule = sa.Column(sa.String(8), nullable=False)
    reason = sa.Column(sa.Text, nullable=False)
    evidence = sa.Column(sa.JSON, nullable=True)
    engine = sa.Column(sa.String(255), nullable=True)
    created_at = sa.Column(sa.DateTime, nullable=False, default=_utcnow)


class Recovery(TimestampMixin, Base):
    """Execution of one decision; see vmguard.db.api.RECOVERY_TRANSITIONS."""

    __tablename__ = 'recoveries'
    __table_args__ = (
        sa.UniqueConstraint('decision_id',
                            name='uniq_recoveries0decision_id'),
        sa.Index('recoveries_status_idx', 'status'),
    )

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, 'sqlite'),
                   primary_key=True, autoincrement=True)
    uuid = sa.Column(sa.String(36), nullable=False, unique=True)
    decision_id = sa.Column(
        sa.BigInteger().with_variant(sa.Integer, 'sqlite'),
        sa.ForeignKey('decisions.id', ondelete='CASCADE'), nullable=False)
    status = sa.Column(sa.String(16), nullable=False, default='pending')
    owner = sa.Column(sa.String(255), nullable=True)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    error = sa.Column(sa.Text, nullable=True)
    started_at = sa.Column(sa.DateTime, nullable=True)
    finished_at = sa.Column(sa.DateTime, nullable=True)


class RecoveryAction(TimestampMixin, Base):
    """One Nova call of a recovery, recorded *before* it is issued.

    Unique per (recovery, server, action): an engine that resumes a
    recovery sees what was already issued and never issues it twice.
    """

    __tablename__ = 'recovery_actions'
    __table_args__ = (
        sa.UniqueConstraint('recovery_id', 'server', 'action',
                            name='uniq_recovery_actions0key'),
    )

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, 'sqlite'),
                   primary_key=True, autoincrement=True)
    recovery_id = sa.Column(
        sa.BigInteger().with_variant(sa.Integer, 'sqlite'),
        sa.ForeignKey('recoveries.id', ondelete='CASCADE'), nullable=False)
    server = sa.Column(sa.String(255), nullable=False)
    action = sa.Column(sa.String(32), nullable=False)
    target = sa.Column(sa.String(255), nullable=True)
    status = sa.Column(sa.String(16), nullable=False, default='issuing')
    request_id = sa.Column(sa.String(64), nullable=True)
    detail = sa.Column(sa.Text, nullable=True)


class Setting(TimestampMixin, Base):
    """A global operator setting stored by the API (e.g. ``dry_run``).

    A row overrides the configuration option of the same meaning; no row
    means the option applies. The engine reads it through
    ``vmguard.db.api.setting_get``.
    """

    __tablename__ = 'settings'

    name = sa.Column(sa.String(64), primary_key=True)
    value = sa.Column(sa.JSON, nullable=True)


class Segment(TimestampMixin, Base):
    """A failover segment: nodes that fail over among themselves.

    ``recovery_method`` is one of
    :data:`vmguard.objects.segment.RECOVERY_METHODS`.
    """

    __tablename__ = 'segments'
    __table_args__ = (
        sa.UniqueConstraint('name', name='uniq_segments0name'),
        sa.UniqueConstraint('uuid', name='uniq_segments0uuid'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    uuid = sa.Column(sa.String(36), nullable=False)
    name = sa.Column(sa.String(255), nullable=False)
    recovery_method = sa.Column(sa.String(16), nullable=False)
    description = sa.Column(sa.String(255), nullable=True)


class SegmentHost(TimestampMixin, Base):
    """A node of a segment; a node belongs to at most one segment.

    Keyed by node name (not the ``nodes`` row): a spare can be declared
    before its agent ever reported. A reserved host is kept disabled in
    Nova until a recovery first moves a server to it; vmguard then enables
    it and records when and why (``activated_at``, ``activated_reason``).
    """

    __tablename__ = 'segment_hosts'
    __table_args__ = (
        sa.UniqueConstraint('node', name='uniq_segment_hosts0node'),
        sa.Index('segment_hosts_segment_idx', 'segment_id'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    segment_id = sa.Column(sa.Integer,
                           sa.ForeignKey('segments.id', ondelete='CASCADE'),
                           nullable=False)
    node = sa.Column(sa.String(255), nullable=False)
    reserved = sa.Column(sa.Boolean, nullable=False, default=False)
    activated_at = sa.Column(sa.DateTime, nullable=True)
    activated_reason = sa.Column(sa.String(255), nullable=True)


class Notification(TimestampMixin, Base):
    """A notification of another monitor (``POST /v1/notifications``).

    ``client_id`` is the id its sender chose and is unique: a sender that
    posts the same notification again (a retry, a second cluster node)
    gets the stored one back and nothing is done twice. ``status``:
    ``new`` (stored by the API), ``accepted`` (an engine took it; its
    decisions are in ``decisions``), ``ignored`` or ``error`` (``message``
    says why). See :mod:`vmguard.engine.inbox`.
    """

    __tablename__ = 'notifications'
    __table_args__ = (
        sa.UniqueConstraint('client_id', name='uniq_notifications0client_id'),
        sa.Index('notifications_status_idx', 'status'),
        sa.Index('notifications_node_idx', 'node'),
    )

    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, 'sqlite'),
                   primary_key=True, autoincrement=True)
    uuid = sa.Column(sa.String(36), nullable=False, unique=True)
    client_id = sa.Column(sa.String(64), nullable=False)
    type = sa.Column(sa.String(16), nullable=False)
    node = sa.Column(sa.String(255), nullable=False)
    vm = sa.Column(sa.String(36), nullable=True)
    service = sa.Column(sa.String(64), nullable=True)
    # The libvirt crash reason of a vm_crashed notification.
    reason = sa.Column(sa.String(32), nullable=True)
    source = sa.Column(sa.String(64), nullable=True)
    detail = sa.Column(sa.Text, nullable=True)
    generated_at = sa.Column(sa.DateTime, nullable=True)
    # Who posted it (Keystone user and project) and the request id.
    user_id = sa.Column(sa.String(255), nullable=True)
    project_id = sa.Column(sa.String(255), nullable=True)
    request_id = sa.Column(sa.String(64), nullable=True)
    status = sa.Column(sa.String(16), nullable=False, default='new')
    message = sa.Column(sa.Text, nullable=True)
    # The engine that took it, the cycle it was judged in, the decision
    # uuids it made (a JSON list).
    engine = sa.Column(sa.String(255), nullable=True)
    cycle = sa.Column(sa.BigInteger, nullable=True)
    decisions = sa.Column(sa.JSON, nullable=True)
