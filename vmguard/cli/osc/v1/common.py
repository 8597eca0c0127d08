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

"""Helpers shared by the vmguard OSC commands."""


def add_pagination(parser, default_sort='asc'):
    parser.add_argument(
        '--limit', metavar='<n>', type=int, default=None,
        help='Return at most this many items (one page); without it all '
             'pages are fetched.')
    parser.add_argument(
        '--marker', metavar='<marker>', default=None,
        help='Start after this item (the last one of the previous page).')
    parser.add_argument(
        '--sort-dir', metavar='<asc|desc>', choices=['asc', 'desc'],
        default=None,
        help='Sort direction (default: %s).' % default_sort)


def pagination_params(parsed_args):
    return {'marker': parsed_args.marker,
            'sort_dir': parsed_args.sort_dir}


def client(command):
    return command.app.client_manager.vmguard


def row(item, columns):
    return tuple(item.get(column) for column in columns)
