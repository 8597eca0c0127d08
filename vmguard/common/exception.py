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

"""vmguard exceptions."""


class VmguardException(Exception):
    """Base class; ``msg_fmt`` is formatted with the keyword arguments."""

    msg_fmt = 'An unknown exception occurred.'
    code = 500

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                message = self.msg_fmt
        self.message = message
        super().__init__(message)


class InvalidRecord(VmguardException):
    """A snapshot or event that violates the data contract."""

    msg_fmt = 'Invalid record: %(reason)s'
    code = 400

    def __init__(self, reason, node=None):
        self.reason = reason
        self.node = node
        super().__init__(reason=reason)


class NotFound(VmguardException):
    msg_fmt = 'Resource could not be found.'
    code = 404


class NodeNotFound(NotFound):
    msg_fmt = 'Node %(node)s could not be found.'


class DecisionNotFound(NotFound):
    msg_fmt = 'Decision %(decision)s could not be found.'


class RecoveryNotFound(NotFound):
    msg_fmt = 'Recovery %(recovery)s could not be found.'


class Conflict(VmguardException):
    msg_fmt = 'Conflict: %(reason)s'
    code = 409


class SegmentNotFound(NotFound):
    msg_fmt = 'Segment %(segment)s could not be found.'


class SegmentHostNotFound(NotFound):
    msg_fmt = 'Node %(node)s is not a host of segment %(segment)s.'


class SegmentConflict(Conflict):
    msg_fmt = 'Conflict: %(reason)s.'


class InvalidStateTransition(Conflict):
    msg_fmt = ('Recovery %(recovery)s cannot go from %(current)s to '
               '%(target)s.')


class DriverLoadError(VmguardException):
    msg_fmt = 'Could not load %(namespace)s driver %(name)s: %(reason)s'


class RuleConfigError(VmguardException):
    msg_fmt = 'Invalid rule configuration: %(reason)s'


class RecordRejected(InvalidRecord):
    """A valid record the judgment refuses (a cycle too far ahead of
    the clock, a crash event of a node never seen)."""


class ServiceUnavailable(VmguardException):
    msg_fmt = '%(service)s is not reachable at %(where)s: %(reason)s'
    code = 503


class NotificationNotFound(NotFound):
    msg_fmt = 'Notification %(notification)s could not be found.'
