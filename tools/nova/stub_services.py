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

"""Stand-in Glance and Neutron for the test Nova (stdlib only).

Nova still calls the Image and Network services. For recovery tests it is
enough that every image exists (a small raw image) and that every Neutron
collection is empty (servers are created with ``networks: none``).

    python3 stub_services.py PORT [CATALOGUE]

CATALOGUE (the libvirt mode of ``novactl.py``, see ``libvirt_mode.py``) is
a JSON file ``{image_id: {"path": ..., "disk_format": ..., "container_format":
..., "properties": {...}}}``: those images are served with their real
size, properties and data (``GET /v2/images/ID/file``), so Nova's libvirt
driver can fetch a kernel, a ramdisk and a root disk.
"""

import http.server
import json
import os
import re
import shutil
import sys

#: Images with real data: {id: {...}} (see the module docstring).
CATALOGUE = {}

IMAGE_SCHEMA = {
    'name': 'image',
    'properties': {
        name: {} for name in (
            'id', 'name', 'status', 'visibility', 'protected',
            'checksum', 'os_hash_algo', 'os_hash_value', 'owner', 'size',
            'virtual_size', 'min_ram', 'min_disk', 'disk_format',
            'container_format', 'created_at', 'updated_at', 'tags',
            'direct_url', 'locations', 'self', 'file', 'schema',
            'os_hidden')},
    'additionalProperties': {'type': 'string'},
    'links': [],
}


def image(image_id):
    entry = CATALOGUE.get(image_id)
    if entry is not None:
        return _catalogued(image_id, entry)
    return {
        'id': image_id, 'name': 'vmguard-test-image', 'status': 'active',
        'visibility': 'public', 'protected': False, 'os_hidden': False,
        'checksum': None, 'os_hash_algo': None, 'os_hash_value': None,
        'owner': 'vmguard-test', 'size': 1024, 'virtual_size': None,
        'min_ram': 0, 'min_disk': 0, 'disk_format': 'raw',
        'container_format': 'bare', 'created_at': '2026-01-01T00:00:00Z',
        'updated_at': '2026-01-01T00:00:00Z', 'tags': [],
        'self': '/v2/images/%s' % image_id,
        'file': '/v2/images/%s/file' % image_id,
        'schema': '/v2/schemas/image',
    }


def _catalogued(image_id, entry):
    body = {
        'id': image_id, 'name': entry.get('name', image_id),
        'status': 'active', 'visibility': 'public', 'protected': False,
        'os_hidden': False, 'checksum': None, 'os_hash_algo': None,
        'os_hash_value': None, 'owner': 'vmguard-test',
        'size': os.path.getsize(entry['path']), 'virtual_size': None,
        'min_ram': 0, 'min_disk': 0,
        'disk_format': entry.get('disk_format', 'raw'),
        'container_format': entry.get('container_format', 'bare'),
        'created_at': '2026-01-01T00:00:00Z',
        'updated_at': '2026-01-01T00:00:00Z', 'tags': [],
        'self': '/v2/images/%s' % image_id,
        'file': '/v2/images/%s/file' % image_id,
        'schema': '/v2/schemas/image',
    }
    # Glance v2 shows image properties as top-level strings.
    body.update({k: str(v) for k, v in entry.get('properties', {}).items()})
    return body


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        sys.stderr.write('stub: %s\n' % (fmt % args))

    def _send(self, code, body=None):
        data = json.dumps(body).encode() if body is not None else b''
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self):
        length = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(length) if length else b''

    def do_GET(self):
        path = self.path.split('?', 1)[0].rstrip('/')
        if path in ('', '/v2', '/v2.0'):
            return self._send(200, {'versions': [
                {'id': 'v2.0', 'status': 'CURRENT', 'links': []}]})
        if path == '/v2/schemas/image':
            return self._send(200, IMAGE_SCHEMA)
        match = re.fullmatch(r'/v2/images/([^/]+)/file', path)
        if match and match.group(1) in CATALOGUE:
            return self._send_file(CATALOGUE[match.group(1)]['path'])
        match = re.fullmatch(r'/v2/images/([^/]+)', path)
        if match:
            return self._send(200, image(match.group(1)))
        if path == '/v2/images':
            return self._send(200, {'images': [], 'first': '/v2/images',
                                    'schema': '/v2/schemas/images'})
        match = re.fullmatch(r'/v2\.0/([a-z_-]+)(?:\.json)?', path)
        if match:
            return self._send(200, {match.group(1): []})
        match = re.fullmatch(r'/v2\.0/([a-z_-]+)/([^/]+)', path)
        if match:
            return self._send(404, {'NeutronError': {
                'type': 'NotFound', 'message': '%s not found' % path,
                'detail': ''}})
        return self._send(404, {'error': 'not found: %s' % path})

    def _send_file(self, path):
        self.send_response(200)
        self.send_header('Content-Type', 'application/octet-stream')
        self.send_header('Content-Length', str(os.path.getsize(path)))
        self.end_headers()
        with open(path, 'rb') as f:
            shutil.copyfileobj(f, self.wfile)

    def do_DELETE(self):
        self._read_body()
        return self._send(204)

    def do_PUT(self):
        self._read_body()
        return self._send(404, {'error': 'not supported'})

    def do_POST(self):
        self._read_body()
        return self._send(404, {'error': 'not supported'})


def main():
    port = int(sys.argv[1])
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as f:
            CATALOGUE.update(json.load(f))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', port), Handler)
    server.serve_forever()


if __name__ == '__main__':
    main()
