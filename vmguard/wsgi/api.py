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

"""WSGI entry point of the REST API: ``vmguard.wsgi.api:application``.

For uWSGI, mod_wsgi or gunicorn. The configuration is read on the first
request (not at import time): the files named in ``VMGUARD_CONFIG_FILES``
(comma separated), else oslo.config's defaults
(``/etc/vmguard/vmguard.conf``...).
"""

import os
import sys
import threading

from vmguard.api import deploy
from vmguard.common import config as vmg_config
import vmguard.conf


class _Application:
    """Configure and build the real application once, on first use."""

    def __init__(self):
        self._app = None
        self._lock = threading.Lock()

    def _load(self):
        files = os.environ.get('VMGUARD_CONFIG_FILES')
        default_files = ([f for f in files.split(',') if f]
                         if files else None)
        vmg_config.prepare_service([sys.argv[0]],
                                   default_config_files=default_files)
        return deploy.deploy(vmguard.conf.CONF)

    def __call__(self, environ, start_response):
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = self._load()
        return self._app(environ, start_response)


application = _Application()
