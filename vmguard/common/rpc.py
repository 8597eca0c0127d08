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

"""oslo.messaging plumbing: transports, serializer, clients, servers.

Servers always use the ``threading`` executor: vmguard does not run on
eventlet.
"""

import oslo_messaging as messaging
from oslo_messaging.rpc import dispatcher

from vmguard.common import context as vmg_context
from vmguard import objects
from vmguard.objects import base as objects_base

TRANSPORT = None
NOTIFICATION_TRANSPORT = None
NOTIFIER = None


class RequestContextSerializer(messaging.Serializer):
    """Serialize the request context and versioned objects together."""

    def __init__(self, base=None):
        self._base = base

    def serialize_entity(self, context, entity):
        if not self._base:
            return entity
        return self._base.serialize_entity(context, entity)

    def deserialize_entity(self, context, entity):
        if not self._base:
            return entity
        return self._base.deserialize_entity(context, entity)

    def serialize_context(self, context):
        return context.to_dict()

    def deserialize_context(self, context):
        return vmg_context.RequestContext.from_dict(context)


def init(conf):
    global TRANSPORT, NOTIFICATION_TRANSPORT, NOTIFIER
    objects.register_all()
    if TRANSPORT is None:
        TRANSPORT = messaging.get_rpc_transport(conf)
    if NOTIFICATION_TRANSPORT is None:
        NOTIFICATION_TRANSPORT = messaging.get_notification_transport(conf)
    if NOTIFIER is None:
        NOTIFIER = messaging.Notifier(NOTIFICATION_TRANSPORT,
                                      serializer=get_serializer())


def cleanup():
    global TRANSPORT, NOTIFICATION_TRANSPORT, NOTIFIER
    if TRANSPORT is not None:
        TRANSPORT.cleanup()
    if NOTIFICATION_TRANSPORT is not None:
        NOTIFICATION_TRANSPORT.cleanup()
    TRANSPORT = NOTIFICATION_TRANSPORT = NOTIFIER = None


def get_serializer():
    return RequestContextSerializer(objects_base.VmguardObjectSerializer())


def get_client(target, version_cap=None, transport=None):
    return messaging.get_rpc_client(transport or TRANSPORT, target,
                                    version_cap=version_cap,
                                    serializer=get_serializer())


def get_server(target, endpoints, transport=None):
    access_policy = dispatcher.DefaultRPCAccessPolicy
    return messaging.get_rpc_server(transport or TRANSPORT, target,
                                    endpoints, executor='threading',
                                    serializer=get_serializer(),
                                    access_policy=access_policy)


def get_notifier(publisher_id):
    return NOTIFIER.prepare(publisher_id=publisher_id)
