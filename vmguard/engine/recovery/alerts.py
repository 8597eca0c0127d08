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

"""Alerts that reach a person.

Every escalation and every recovery that gives up (``escalated``,
``failed``) is an alert: an ``ALERT`` line in the engine log, a
``vmguard.alert`` versioned notification (when ``[notifications] emit``
and a notification driver are configured) and, when ``[alerts]
webhook_url`` is set, an HTTP POST of a JSON document, retried on no
answer / 5xx / 429 with backoff, each try bounded by ``webhook_timeout``.
The POSTs run on a small thread pool: a slow receiver never holds a
recovery up.
"""

import json
import ssl
import time
import urllib.error
import urllib.request

import futurist
from oslo_log import log as logging
from oslo_utils import timeutils

from vmguard.common import context as vmg_context
from vmguard.common import rpc
from vmguard import conf
from vmguard.objects import notification as payloads

LOG = logging.getLogger(__name__)
CONF = conf.CONF

EVENT_TYPE = 'vmguard.alert'


def document(decision, recovery, status, message):
    """The JSON document of one alert (the webhook's body)."""
    return {
        'event_type': EVENT_TYPE,
        'severity': 'critical',
        'status': status,
        'summary': '%s %s: %s on %s (rule %s)%s' % (
            'vmguard', status, decision.action, decision.node,
            decision.rule, ' for %s' % decision.vm if decision.vm else ''),
        'message': message,
        'node': decision.node,
        'vm': decision.vm,
        'rule': decision.rule,
        'action': decision.action,
        'reason': decision.reason,
        'decision': decision.uuid,
        'recovery': recovery.uuid,
        'engine': CONF.host,
        'at': timeutils.utcnow().replace(tzinfo=None).isoformat() + 'Z',
    }


class WebhookError(Exception):
    def __init__(self, reason, retry):
        super().__init__(reason)
        self.retry = retry


class AlertSender:
    """Sends alerts: notification now, webhook POST in the background."""

    def __init__(self, sleep=time.sleep, notifier=None):
        self._sleep = sleep
        self._notifier = notifier
        if (notifier is None and CONF.notifications.emit
                and rpc.NOTIFIER is not None):
            self._notifier = rpc.get_notifier('vmguard-engine.%s'
                                              % CONF.host)
        self._pool = None
        self.sent = 0
        self.failed = 0

    def send(self, decision, recovery, status, message):
        """Never raises; returns the webhook future (or None)."""
        self._notify(decision, recovery, status, message)
        url = CONF.alerts.webhook_url
        if not url:
            return None
        try:
            body = document(decision, recovery, status, message)
            if self._pool is None:
                self._pool = futurist.ThreadPoolExecutor(max_workers=2)
            return self._pool.submit(self._post_retried, url, body)
        except Exception:
            LOG.exception('Alert for decision %s not posted', decision.uuid)
            return None

    def stop(self, wait=True):
        if self._pool is not None:
            self._pool.shutdown(wait=wait)
            self._pool = None

    def _notify(self, decision, recovery, status, message):
        if self._notifier is None:
            return
        try:
            payload = payloads.AlertPayload(
                decision=payloads.DecisionPayload.from_row(decision),
                recovery=recovery.uuid, status=status, message=message)
            self._notifier.critical(vmg_context.get_admin_context(),
                                    EVENT_TYPE, payload)
        except Exception:
            LOG.warning('Could not emit notification %s', EVENT_TYPE,
                        exc_info=True)

    def _post_retried(self, url, body):
        retries = CONF.alerts.webhook_retries
        for attempt in range(retries + 1):
            try:
                status = self._post(url, body)
            except WebhookError as exc:
                if not exc.retry or attempt >= retries:
                    self.failed += 1
                    LOG.error('ALERT for decision %s could not be posted to '
                              'the webhook after %d tries: %s',
                              body['decision'], attempt + 1, exc)
                    return False
                delay = CONF.alerts.webhook_retry_interval * (2 ** attempt)
                LOG.warning('Alert webhook failed (%s); retry %d/%d in '
                            '%.1fs', exc, attempt + 1, retries, delay)
                self._sleep(delay)
                continue
            self.sent += 1
            LOG.info('Alert for decision %s posted to the webhook (%s)',
                     body['decision'], status)
            return True
        return False

    def _post(self, url, body):
        data = json.dumps(body).encode('utf-8')
        request = urllib.request.Request(
            url, data=data, method='POST',
            headers={'Content-Type': 'application/json',
                     'User-Agent': 'vmguard-engine'})
        context = None
        if url.startswith('https:') and not CONF.alerts.webhook_verify:
            context = ssl._create_unverified_context()  # noqa: S323
        try:
            with urllib.request.urlopen(
                    request, timeout=CONF.alerts.webhook_timeout,
                    context=context) as resp:
                resp.read(65536)
                return resp.status
        except urllib.error.HTTPError as exc:
            retry = exc.code >= 500 or exc.code == 429
            raise WebhookError('HTTP %s %s' % (exc.code, exc.reason),
                               retry) from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise WebhookError(str(getattr(exc, 'reason', exc)),
                               True) from exc
