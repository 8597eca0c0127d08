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

"""The compute back end seam: what a recovery asks of the Compute service.

Drivers are loaded by name from the ``vmguard.compute`` entry point
namespace (``[recovery] compute_driver``). Every method that changes
something takes a ``request_id`` (``req-<uuid>``) that the driver passes
along to the Compute service as the global request id, so that one
recovery can be followed through Nova's logs; it returns the request id
the Compute service answered with (or ``request_id`` when it gives none).

Errors are the exceptions of this module, never a client library's:

* :class:`ComputeUnavailable` -- no answer, a 5xx answer or a timeout;
  the caller may retry. ``maybe_sent`` tells whether the request could
  have reached the service (then the caller must check before repeating a
  non idempotent action).
* :class:`ComputeRejected` -- a 400/404/409 answer: the request was
  understood and refused (``code`` and ``message`` say why).
"""

import abc
import dataclasses

from oslo_utils import uuidutils
import stevedore

from vmguard.common import exception

NAMESPACE = 'vmguard.compute'

# Nova server statuses the recovery cares about.
ACTIVE = 'ACTIVE'
SHUTOFF = 'SHUTOFF'
ERROR = 'ERROR'
VERIFY_RESIZE = 'VERIFY_RESIZE'
PAUSED = 'PAUSED'

# Nova's vm_state -> the server status its API shows for it.
STATUS_OF_VM_STATE = {
    'active': ACTIVE, 'building': 'BUILD', 'stopped': SHUTOFF,
    'error': ERROR, 'paused': PAUSED, 'suspended': 'SUSPENDED',
    'rescued': 'RESCUE', 'resized': VERIFY_RESIZE,
    'soft-delete': 'SOFT_DELETED', 'deleted': 'DELETED',
    'shelved': 'SHELVED', 'shelved_offloaded': 'SHELVED_OFFLOADED'}

# Final statuses of a failed migration record.
MIGRATION_FAILED = frozenset(('failed', 'error', 'cancelled'))

# Server actions, named as Nova names them in its instance action list.
ACTION_REBOOT = 'reboot'
ACTION_EVACUATE = 'evacuate'
ACTION_LIVE_MIGRATE = 'live-migration'
ACTION_MIGRATE = 'migrate'
ACTION_CONFIRM = 'confirmResize'
ACTION_START = 'start'


class ComputeError(exception.VmguardException):
    msg_fmt = 'Compute request failed: %(reason)s'


class ComputeUnavailable(ComputeError):
    """No usable answer (connection refused, timeout, 5xx); retryable."""

    msg_fmt = 'Compute service unavailable: %(reason)s'

    def __init__(self, message=None, maybe_sent=True, code=None, **kwargs):
        super().__init__(message, **kwargs)
        self.maybe_sent = maybe_sent
        self.code = code


class ComputeRejected(ComputeError):
    """The Compute service understood and refused the request."""

    msg_fmt = 'Compute service rejected the request (%(code)s): %(reason)s'

    def __init__(self, message=None, code=None, **kwargs):
        kwargs.setdefault('code', code)
        super().__init__(message, **kwargs)
        self.code = code
        self.reason = kwargs.get('reason', message)


class ServerNotFound(ComputeRejected):
    msg_fmt = 'Server %(server)s could not be found.'

    def __init__(self, server):
        super().__init__(code=404, server=server,
                         reason='server %s not found' % server)


class ServiceNotFound(ComputeRejected):
    msg_fmt = 'No nova-compute service on host %(host)s.'

    def __init__(self, host):
        super().__init__(code=404, host=host,
                         reason='no nova-compute service on %s' % host)


@dataclasses.dataclass
class Server:
    """What a recovery needs to know of a server."""

    id: str
    status: str
    host: str | None
    task_state: str | None = None
    vcpus: int = 0
    ram_mb: int = 0
    name: str | None = None
    vm_state: str | None = None          # Nova's vm_state (active, error..)
    metadata: dict = dataclasses.field(default_factory=dict)
    flavor_extra_specs: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Service:
    """A nova-compute service."""

    id: str
    host: str
    state: str                  # 'up' | 'down'
    status: str                 # 'enabled' | 'disabled'
    forced_down: bool = False
    disabled_reason: str | None = None
    updated_at: str | None = None       # Nova's last heartbeat of it

    @property
    def is_down(self):
        return self.state == 'down' or self.forced_down


@dataclasses.dataclass
class InstanceAction:
    action: str
    request_id: str | None
    start_time: str | None


def new_request_id():
    return 'req-' + uuidutils.generate_uuid()


class ComputeDriver(abc.ABC):
    """A compute back end that executes recovery actions."""

    # --- reads -------------------------------------------------------------

    @abc.abstractmethod
    def get_server(self, server_id):
        """Return a :class:`Server`; raise :class:`ServerNotFound`."""

    @abc.abstractmethod
    def list_servers(self, host):
        """Return the :class:`Server` objects that Nova places on host."""

    @abc.abstractmethod
    def get_service(self, host):
        """Return the nova-compute :class:`Service` of host."""

    @abc.abstractmethod
    def list_instance_actions(self, server_id):
        """Return the server's :class:`InstanceAction` list, newest first."""

    @abc.abstractmethod
    def list_migrations(self, server_id):
        """Return the server's migration records (dicts with at least
        ``id``, ``migration_type``, ``dest_compute``, ``status``)."""

    # --- actions (each returns the request id Nova answered with) ----------

    @abc.abstractmethod
    def reboot_server(self, server_id, request_id, hard=True):
        """Reboot a server (hard by default)."""

    @abc.abstractmethod
    def start_server(self, server_id, request_id):
        """Power a SHUTOFF server on."""

    @abc.abstractmethod
    def evacuate_server(self, server_id, target_host, request_id):
        """Rebuild a server of a down host on ``target_host``."""

    @abc.abstractmethod
    def live_migrate_server(self, server_id, target_host, request_id):
        """Live-migrate a running server to ``target_host``."""

    @abc.abstractmethod
    def migrate_server(self, server_id, target_host, request_id):
        """Cold-migrate a server to ``target_host``."""

    @abc.abstractmethod
    def confirm_migration(self, server_id, request_id):
        """Confirm a finished cold migration (VERIFY_RESIZE)."""

    @abc.abstractmethod
    def force_down_service(self, host, request_id, forced_down=True):
        """Mark host's nova-compute service forced down (or not)."""

    @abc.abstractmethod
    def disable_service(self, host, reason, request_id):
        """Disable host's nova-compute service, with a reason."""

    @abc.abstractmethod
    def enable_service(self, host, request_id):
        """Enable host's nova-compute service (a reserved host put to
        use; Nova keeps no reason for an enabled service: vmguard records
        it)."""


def load_driver(name=None):
    """Load a compute back end by its entry point name."""
    from vmguard import conf
    name = name or conf.CONF.recovery.compute_driver
    try:
        mgr = stevedore.DriverManager(NAMESPACE, name, invoke_on_load=True)
    except Exception as exc:
        raise exception.DriverLoadError(namespace=NAMESPACE, name=name,
                                        reason=exc) from exc
    return mgr.driver
