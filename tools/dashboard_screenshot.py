#!/usr/bin/env python3
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

"""Screenshot of the status page after the all-in-one demo (for the docs).

Runs ``vmguard-allinone --serve`` on a free port, waits for its three
phases, opens ``/dashboard`` in headless Chromium (noauth sign-in), opens
the newest R4 decision and saves a PNG::

    tools/dashboard_screenshot.py doc/source/images/dashboard.png

Needs what the demo needs (RabbitMQ, sushy-tools), Debian's ``chromium``
and ``chromium-driver``, and ``selenium``.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome import service as chrome_service
from selenium.webdriver.common.by import By


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise SystemExit('timed out')


def main(out):
    tmp = tempfile.mkdtemp(prefix='vmguard-screenshot-')
    port = free_port()
    conf = os.path.join(tmp, 'demo.conf')
    with open(conf, 'w') as f:
        f.write('[api]\nport = %d\n' % port)
    # The browser first: the page is taken as soon as the demo's phases
    # are done (the demo's engine keeps judging while it serves).
    options = webdriver.ChromeOptions()
    options.binary_location = '/usr/bin/chromium'
    for arg in ('--headless', '--no-sandbox', '--disable-gpu',
                '--disable-background-networking',
                '--disable-component-update', '--disable-sync',
                '--no-first-run', '--window-size=1200,1000',
                '--user-data-dir=%s' % os.path.join(tmp, 'profile')):
        options.add_argument(arg)
    browser = webdriver.Chrome(service=chrome_service.Service(
        executable_path='/usr/bin/chromedriver'), options=options)
    demo = subprocess.Popen(
        [sys.executable, '-m', 'vmguard.cmd.allinone', '--config-file',
         conf, '--serve'], stdout=subprocess.PIPE)
    try:
        for line in demo.stdout:
            line = line.decode('utf-8', 'replace')
            sys.stdout.write(line)
            if line.startswith('Serving the API'):
                break
        else:
            raise SystemExit('the demo ended before serving')
        browser.get('http://127.0.0.1:%d/dashboard' % port)
        browser.find_element(By.ID, 'login-user').send_keys('demo')
        browser.find_element(By.ID, 'login-project').send_keys('demo')
        browser.find_element(By.ID, 'login-submit').click()
        wait(lambda: browser.find_element(By.TAG_NAME, 'body')
             .get_attribute('data-renders'))
        wait(lambda: browser.find_elements(
            By.CSS_SELECTOR, 'tr.decision[data-rule="R4"]'))
        browser.find_elements(
            By.CSS_SELECTOR, 'rect.band[data-state="failed"]')[0].click()
        wait(lambda: browser.find_element(By.ID, 'cycle-detail')
             .is_displayed())
        browser.find_elements(
            By.CSS_SELECTOR, 'tr.decision[data-rule="R3"]')[0].click()
        wait(lambda: browser.find_element(
            By.CSS_SELECTOR, '#decision-detail .recovery'))
        browser.execute_script('window.scrollTo(0, 0);')
        browser.save_screenshot(out)
        print('saved %s' % out)
    finally:
        browser.quit()
        demo.send_signal(signal.SIGINT)
        demo.wait(60)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else 'dashboard.png')
