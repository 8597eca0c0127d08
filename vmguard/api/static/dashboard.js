/*
 * vmguard status page: nodes, host state per cycle, decisions, recoveries.
 *
 * Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Plain JavaScript and SVG, no library, no build step. Every datum comes
 * from the vmguard API of the same origin, read with the credentials the
 * operator entered (kept in this tab's sessionStorage), so the API's
 * policy decides what the page may show.
 */
(function () {
  'use strict';

  var STORE = 'vmguard.dashboard.auth';
  var SVG = 'http://www.w3.org/2000/svg';
  var RULES = ['R1', 'R2', 'R3', 'R4', 'R5', 'R6', 'R7', 'R8', 'R9', 'R10'];
  var LABEL_W = 120;
  var AXIS_H = 22;
  // API root: the page is served at <root>/dashboard.
  var ROOT = window.location.pathname.replace(/\/dashboard\/?$/, '');

  var state = {
    auth: null,
    timer: null,
    busy: false,
    again: false,
    renders: 0,
    timeline: null,
    nodes: [],
    decisions: [],
    open: null,        // uuid of the decision whose details are shown
    cycle: null        // [node, cycle] whose detail is shown
  };

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function show(value) { return value === null || value === undefined ? '\u2014' : value; }

  // -- credentials -----------------------------------------------------------

  function loadAuth() {
    try {
      return JSON.parse(window.sessionStorage.getItem(STORE) || 'null');
    } catch (e) {
      return null;
    }
  }

  function headers() {
    // The page's own reads need microversion 1.2; the others ignore it.
    var h = {'Accept': 'application/json',
             'OpenStack-API-Version': 'vmguard 1.2'};
    var a = state.auth || {};
    if (a.token) {
      h['X-Auth-Token'] = a.token;
    } else if (a.user) {
      h['X-User-Id'] = a.user;
      h['X-Project-Id'] = a.project || a.user;
      h['X-Roles'] = a.roles || '';
      // Development (noauth) only: the roles entered act cloud-wide, as
      // a system-scoped token's would (reads need admin or a system
      // reader), like the CLI's noauth mode.
      h['OpenStack-System-Scope'] = 'all';
    }
    return h;
  }

  function ApiError(status, message) {
    this.status = status;
    this.message = message;
  }

  function api(path) {
    return window.fetch(ROOT + path, {headers: headers(), cache: 'no-store',
                                      credentials: 'omit'})
      .then(function (resp) {
        return resp.text().then(function (text) {
          var body = null;
          try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
          if (!resp.ok) {
            var detail = body && body.errors && body.errors[0] ?
              body.errors[0].detail : resp.statusText;
            throw new ApiError(resp.status, resp.status + ': ' + detail);
          }
          return body;
        });
      });
  }

  // Every page of a list: follow its "next" links (same origin).
  function apiAll(path, key, limit) {
    var items = [];
    function page(url, left) {
      return api(url).then(function (body) {
        items = items.concat(body[key]);
        var next = (body.links || []).filter(function (l) { return l.rel === 'next'; })[0];
        if (!next || left <= 1) { return items; }
        var u = new URL(next.href, window.location.href);
        return page(u.pathname.slice(ROOT.length) + u.search, left - 1);
      });
    }
    return page(path, limit);
  }

  function signIn(event) {
    event.preventDefault();
    var token = $('login-token').value.trim();
    var user = $('login-user').value.trim();
    if (!token && !user) {
      $('login-error').textContent = 'Enter a token, or a user for noauth.';
      return;
    }
    state.auth = token ? {token: token} : {
      user: user, project: $('login-project').value.trim(),
      roles: $('login-roles').value.trim()};
    window.sessionStorage.setItem(STORE, JSON.stringify(state.auth));
    $('login-token').value = '';
    start();
  }

  function signOut() {
    window.sessionStorage.removeItem(STORE);
    state.auth = null;
    stopPolling();
    $('main').hidden = true;
    $('login').hidden = false;
    $('status').textContent = 'signed out';
  }

  // -- loading -----------------------------------------------------------

  function filters() {
    return {node: $('filter-node').value, rule: $('filter-rule').value,
            cycles: parseInt($('filter-cycles').value, 10)};
  }

  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      if (params[k] !== '' && params[k] !== null && params[k] !== undefined) {
        parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(params[k]));
      }
    });
    return parts.length ? '?' + parts.join('&') : '';
  }

  function fail(where, err) {
    if (err instanceof ApiError && err.status === 401) {
      signOut();
      $('login-error').textContent = 'The API refused the credentials (' +
        err.message + '). Sign in again.';
      throw err;
    }
    $(where).textContent = err.message || String(err);
  }

  function refresh() {
    if (!state.auth) { return Promise.resolve(); }
    if (state.busy) {
      // A filter changed while a refresh runs: run again after it.
      state.again = true;
      return Promise.resolve();
    }
    state.busy = true;
    document.body.setAttribute('data-busy', 'true');
    var f = filters();
    var started = window.performance.now();
    var latest = state.timeline ? state.timeline.latest_cycle : null;
    var jobs = [
      apiAll('/v1/nodes' + query({limit: 1000}), 'nodes', 50).then(function (nodes) {
        $('nodes-error').textContent = '';
        state.nodes = nodes;
      }, function (err) { fail('nodes-error', err); }),
      api('/v1/dashboard/timeline' + query({node: f.node, cycles: f.cycles}))
        .then(function (body) {
          $('timeline-error').textContent = '';
          state.timeline = body;
        }, function (err) { fail('timeline-error', err); }),
      api('/v1/decisions' + query({node: f.node, rule: f.rule,
                                   sort_dir: 'desc', limit: 200}))
        .then(function (body) {
          $('decisions-error').textContent = '';
          state.decisions = body.decisions;
        }, function (err) { fail('decisions-error', err); })
    ];
    return Promise.all(jobs).then(function () {
      renderNodes();
      renderTimeline();
      renderDecisions();
      var opened = [];
      var open = state.decisions.filter(function (d) { return d.uuid === state.open; });
      if (open.length) {
        opened.push(fillDecision(open[0], false));
      } else if (state.open) {
        // No longer listed (a filter changed): close it.
        state.open = null;
        renderDecisions();
      }
      if (state.cycle && state.timeline &&
          state.timeline.latest_cycle !== latest) {
        opened.push(showCycle(state.cycle[0], state.cycle[1]));
      }
      return Promise.all(opened);
    }).then(function () {
      state.renders += 1;
      var took = window.performance.now() - started;
      document.body.setAttribute('data-renders', String(state.renders));
      if (state.renders === 1) {
        // Time from the navigation to the first full render.
        document.body.setAttribute('data-first-render-ms',
                                   window.performance.now().toFixed(1));
      }
      document.body.setAttribute('data-render-ms', took.toFixed(1));
      var s = $('status');
      s.classList.remove('stale');
      s.textContent = 'updated ' + new Date().toLocaleTimeString() +
        (state.timeline ? ', cycle ' + show(state.timeline.latest_cycle) : '');
    }).catch(function (err) {
      $('status').classList.add('stale');
      $('status').textContent = 'refresh failed: ' + (err.message || err);
    }).then(function () {
      state.busy = false;
      document.body.setAttribute('data-busy', 'false');
      if (state.again) {
        state.again = false;
        return refresh();
      }
    });
  }

  function startPolling() {
    stopPolling();
    var every = parseInt($('refresh').value, 10);
    if (every > 0) {
      state.timer = window.setInterval(refresh, every);
    }
  }

  function stopPolling() {
    if (state.timer) { window.clearInterval(state.timer); }
    state.timer = null;
  }

  // -- nodes -----------------------------------------------------------------

  function stateBadge(value) {
    return el('span', {'class': 'state state-' + value}, value);
  }

  function renderNodes() {
    var select = $('filter-node');
    var chosen = select.value;
    var names = state.nodes.map(function (n) { return n.name; });
    var known = Array.prototype.map.call(select.options, function (o) { return o.value; });
    if (known.slice(1).join('\n') !== names.join('\n')) {
      while (select.options.length > 1) { select.remove(1); }
      names.forEach(function (name) { select.add(new Option(name, name)); });
      select.value = names.indexOf(chosen) >= 0 ? chosen : '';
    }
    var tbody = $('nodes').tBodies[0];
    var rows = document.createDocumentFragment();
    state.nodes.forEach(function (n) {
      if (chosen && n.name !== chosen) { return; }
      var tr = el('tr', {'data-node': n.name});
      tr.appendChild(el('td', null, n.name));
      var st = el('td');
      st.appendChild(stateBadge(n.host_state));
      var latest = state.timeline ? state.timeline.latest_cycle : null;
      if (latest !== null && n.last_cycle !== null && latest - n.last_cycle >= 2) {
        st.appendChild(document.createTextNode(' '));
        st.appendChild(el('span', {'class': 'state state-silent'},
                          'silent since ' + (n.last_cycle + 1)));
      }
      tr.appendChild(st);
      var dis = el('td', n.disabled ? {'class': 'flag'} : null,
                   n.disabled ? 'yes' + (n.disabled_reason ? ': ' + n.disabled_reason : '') : 'no');
      tr.appendChild(dis);
      tr.appendChild(el('td', n.maintenance ? {'class': 'flag'} : null,
                        n.maintenance ? 'yes' : 'no'));
      tr.appendChild(el('td', null, n.dry_run === null || n.dry_run === undefined ?
                                    'global' : (n.dry_run ? 'yes' : 'no')));
      tr.appendChild(el('td', null, show(n.segment)));
      tr.appendChild(el('td', {'class': 'num'}, show(n.last_cycle)));
      tr.appendChild(el('td', null, show(n.last_report_at)));
      tr.appendChild(el('td', {'class': 'num'}, show(n.vcpus_free)));
      tr.appendChild(el('td', {'class': 'num'}, show(n.ram_mb_free)));
      rows.appendChild(tr);
    });
    tbody.replaceChildren(rows);
  }

  // -- timeline --------------------------------------------------------------

  function renderTimeline() {
    var t = state.timeline;
    var box = $('timeline');
    if (!t) { return; }
    var rule = $('filter-rule').value;
    var nodes = t.nodes;
    var span = t.until_cycle - t.since_cycle + 1;
    var width = Math.max(640, $('timeline-box').clientWidth - 4);
    var plot = width - LABEL_W - 8;
    var rowH = nodes.length > 40 ? 12 : 20;
    var height = AXIS_H + nodes.length * rowH + 4;
    var perCycle = plot / span;
    box.setAttribute('width', width);
    box.setAttribute('height', height);
    box.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    box.setAttribute('data-since', t.since_cycle);
    box.setAttribute('data-until', t.until_cycle);
    var frag = document.createDocumentFragment();
    var x = function (cycle) { return LABEL_W + (cycle - t.since_cycle) * perCycle; };
    // Axis: about eight ticks on round cycle numbers.
    var step = Math.max(1, Math.pow(10, Math.floor(Math.log10(Math.max(1, span / 8)))));
    while (span / step > 10) { step *= 2; }
    frag.appendChild(svg('line', {'class': 'axis-line', x1: LABEL_W, x2: LABEL_W + plot,
                                  y1: AXIS_H - 4, y2: AXIS_H - 4}));
    for (var c = Math.ceil(t.since_cycle / step) * step; c <= t.until_cycle; c += step) {
      var tick = svg('text', {'class': 'axis', x: x(c), y: AXIS_H - 8, 'text-anchor': 'middle'});
      tick.textContent = String(c);
      frag.appendChild(tick);
    }
    var rowOf = {};
    nodes.forEach(function (n, i) {
      var y = AXIS_H + i * rowH;
      rowOf[n.name] = y;
      var label = svg('text', {'class': 'row-label', x: 4, y: y + rowH - 4});
      label.textContent = n.name;
      frag.appendChild(label);
      n.bands.forEach(function (b) {
        var rect = svg('rect', {
          'class': 'band band-' + b[2], x: x(b[0]).toFixed(2), y: y + 1,
          width: Math.max(1, (b[1] - b[0] + 1) * perCycle).toFixed(2),
          height: rowH - 2, 'data-node': n.name, 'data-state': b[2],
          'data-from': b[0], 'data-to': b[1]});
        frag.appendChild(rect);
      });
    });
    t.decisions.forEach(function (d) {
      var y = rowOf[d.node];
      if (y === undefined) { return; }
      var cx = x(d.cycle) + perCycle / 2;
      var r = Math.min(5, rowH / 2 - 1);
      var m = svg('path', {
        'class': 'marker' + (rule && d.rule !== rule ? ' filtered' : ''),
        d: 'M' + cx.toFixed(2) + ' ' + (y + rowH / 2 - r) + 'l' + r + ' ' + r +
           'l-' + r + ' ' + r + 'l-' + r + ' -' + r + 'z',
        'data-decision': d.uuid, 'data-rule': d.rule, 'data-node': d.node,
        'data-cycle': d.cycle});
      m.setAttribute('data-action', d.action);
      frag.appendChild(m);
    });
    if (state.cycle && rowOf[state.cycle[0]] !== undefined &&
        state.cycle[1] >= t.since_cycle && state.cycle[1] <= t.until_cycle) {
      var cx = x(state.cycle[1]) + perCycle / 2;
      frag.appendChild(svg('line', {'class': 'cursor', x1: cx, x2: cx,
                                    y1: AXIS_H - 4, y2: height}));
    }
    box.replaceChildren(frag);
    // One tooltip for the whole chart (thousands of <title>s cost more).
    box.onmousemove = function (event) {
      var target = event.target;
      var tip = $('timeline-tip');
      var text = null;
      if (target.getAttribute('data-decision')) {
        text = target.getAttribute('data-node') + ', cycle ' +
          target.getAttribute('data-cycle') + ': ' + target.getAttribute('data-rule') +
          ' ' + target.getAttribute('data-action');
      } else if (target.classList.contains('band')) {
        text = target.getAttribute('data-node') + ': ' + target.getAttribute('data-state') +
          ', cycles ' + target.getAttribute('data-from') + '\u2013' +
          target.getAttribute('data-to');
      }
      tip.hidden = text === null;
      if (text !== null) {
        tip.textContent = text;
        tip.style.left = (event.pageX + 12) + 'px';
        tip.style.top = (event.pageY + 12) + 'px';
      }
    };
    box.onmouseleave = function () { $('timeline-tip').hidden = true; };
    box.onclick = function (event) {
      var target = event.target;
      if (target.getAttribute('data-decision')) {
        openDecision(target.getAttribute('data-decision'), true);
        return;
      }
      if (!target.classList.contains('band')) { return; }
      // The cycle under the pointer, within the band clicked.
      var pt = box.getBoundingClientRect();
      var cycle = t.since_cycle + Math.floor((event.clientX - pt.left - LABEL_W) / perCycle);
      cycle = Math.min(Math.max(cycle, parseInt(target.getAttribute('data-from'), 10)),
                       parseInt(target.getAttribute('data-to'), 10));
      showCycle(target.getAttribute('data-node'), cycle);
    };
  }

  function itemList(title, items, describe) {
    var wrap = el('div');
    wrap.appendChild(el('h3', null, title + ' (' + items.length + ')'));
    if (!items.length) {
      wrap.appendChild(el('p', {'class': 'muted'}, 'none'));
      return wrap;
    }
    var ul = el('ul');
    items.forEach(function (i) { ul.appendChild(el('li', null, describe(i))); });
    wrap.appendChild(ul);
    return wrap;
  }

  function showCycle(node, cycle) {
    state.cycle = [node, cycle];
    var panel = $('cycle-detail');
    return api('/v1/dashboard/nodes/' + encodeURIComponent(node) + '/cycles/' + cycle)
      .then(function (body) {
        var c = body.cycle;
        var out = document.createDocumentFragment();
        var head = el('p', {'class': 'cycle-head'});
        head.appendChild(el('strong', null, c.node + ', cycle ' + c.cycle + ': '));
        head.appendChild(stateBadge(c.host_state));
        if (c.period) {
          head.appendChild(el('span', {'class': 'muted'}, ' since cycle ' + c.period.cycle_from));
        }
        out.appendChild(head);
        out.appendChild(itemList('Hardware not ok', c.not_ok, function (i) {
          return i.id + ' (' + show(i.kind) + '): ' + i.health;
        }));
        out.appendChild(itemList('Read through a worse identity path than its baseline',
                                 c.off_baseline_path, function (i) {
          return i.id + ' (' + show(i.kind) + '): ' + i.identity_path +
            ', baseline ' + i.baseline_path + (i.identity ? ', identity ' + i.identity : '');
        }));
        out.appendChild(itemList('External items failed', c.external_failed,
                                 function (i) { return String(i); }));
        var here = (state.timeline ? state.timeline.decisions : []).filter(function (d) {
          return d.node === node && d.cycle === cycle;
        });
        out.appendChild(itemList('Decisions in this cycle', here, function (d) {
          return d.rule + ' ' + d.action;
        }));
        panel.setAttribute('data-node', node);
        panel.setAttribute('data-cycle', cycle);
        panel.replaceChildren(out);
        panel.hidden = false;
        renderTimeline();
      }, function (err) { fail('timeline-error', err); });
  }

  // -- decisions and recoveries ----------------------------------------------

  function renderDecisions() {
    var tbody = $('decisions').tBodies[0];
    var rows = document.createDocumentFragment();
    if (!state.decisions.length) {
      rows.appendChild(el('tr')).appendChild(
        el('td', {colspan: 8, 'class': 'muted'}, 'no decision'));
    }
    state.decisions.forEach(function (d) {
      var tr = el('tr', {'class': 'decision' + (d.uuid === state.open ? ' selected' : ''),
                         'data-uuid': d.uuid, 'data-rule': d.rule, 'data-node': d.node});
      tr.appendChild(el('td', {'class': 'num'}, d.cycle));
      tr.appendChild(el('td', null, d.node));
      tr.appendChild(el('td', null, d.rule));
      tr.appendChild(el('td', null, d.action));
      tr.appendChild(el('td', null, show(d.vm || d.service)));
      tr.appendChild(el('td', null, show(d.target)));
      tr.appendChild(el('td', null, d.reason));
      var rec = d.recovery;
      tr.appendChild(el('td', {'class': 'recovery-status' + (rec ? ' status-' + rec.status : '')},
                        rec ? rec.status : '\u2014'));
      tr.addEventListener('click', function () {
        if (state.open === d.uuid) {
          state.open = null;
          renderDecisions();
        } else {
          openDecision(d.uuid, false);
        }
      });
      rows.appendChild(tr);
      if (d.uuid === state.open) {
        var more = el('tr', {'class': 'expanded', 'data-details': d.uuid});
        var td = el('td', {colspan: 8});
        td.appendChild(el('div', {'class': 'detail', id: 'decision-detail'}, 'loading\u2026'));
        more.appendChild(td);
        rows.appendChild(more);
      }
    });
    tbody.replaceChildren(rows);
  }

  function seconds(from, to) {
    if (!from || !to) { return null; }
    return ((Date.parse(to) - Date.parse(from)) / 1000).toFixed(1) + ' s';
  }

  function recoveryView(rec) {
    var out = el('div', {'class': 'recovery', 'data-recovery': rec.uuid});
    var head = el('p');
    head.appendChild(el('strong', null, 'Recovery '));
    head.appendChild(el('span', {'class': 'recovery-detail-status status-' + rec.status}, rec.status));
    head.appendChild(document.createTextNode(
      ' \u2014 attempts ' + rec.attempts + ', owner ' + show(rec.owner) +
      ', created ' + show(rec.created_at) + ', started ' + show(rec.started_at) +
      ', finished ' + show(rec.finished_at) +
      (seconds(rec.started_at, rec.finished_at) ?
        ' (took ' + seconds(rec.started_at, rec.finished_at) + ')' : '')));
    out.appendChild(head);
    if (rec.error) { out.appendChild(el('p', {'class': 'error'}, rec.error)); }
    var table = el('table', {'class': 'actions'});
    var h = el('tr');
    ['server', 'Nova action', 'target', 'status', 'request id', 'issued', 'updated', 'took',
     'detail'].forEach(function (name) { h.appendChild(el('th', null, name)); });
    table.appendChild(el('thead')).appendChild(h);
    var body = el('tbody');
    (rec.actions || []).forEach(function (a) {
      var tr = el('tr');
      [a.server, a.action, show(a.target), a.status, show(a.request_id), show(a.created_at),
       show(a.updated_at), show(seconds(a.created_at, a.updated_at)), show(a.detail)]
        .forEach(function (v, i) {
          tr.appendChild(el('td', i === 4 ? {'class': 'request-id'} : null, v));
        });
      body.appendChild(tr);
    });
    if (!(rec.actions || []).length) {
      body.appendChild(el('tr')).appendChild(el('td', {colspan: 9, 'class': 'muted'},
                                                'no Nova action issued'));
    }
    table.appendChild(body);
    out.appendChild(table);
    return out;
  }

  function openDecision(uuid, scroll) {
    state.open = uuid;
    if (!document.querySelector('tr[data-uuid="' + uuid + '"]')) {
      // Not on the list (filtered out or older): still show it.
      return api('/v1/decisions/' + encodeURIComponent(uuid)).then(function (body) {
        state.decisions = [body.decision].concat(state.decisions.filter(function (d) {
          return d.uuid !== uuid;
        }));
        renderDecisions();
        return fillDecision(body.decision, scroll);
      }, function (err) { fail('decisions-error', err); });
    }
    renderDecisions();
    var known = state.decisions.filter(function (d) { return d.uuid === uuid; })[0];
    return fillDecision(known, scroll);
  }

  function fillDecision(d, scroll) {
    var jobs = [api('/v1/decisions/' + encodeURIComponent(d.uuid))];
    if (d.recovery) {
      jobs.push(api('/v1/recoveries/' + encodeURIComponent(d.recovery.uuid)));
    }
    return Promise.all(jobs).then(function (answers) {
      var box = $('decision-detail');
      if (!box || state.open !== d.uuid) { return; }
      var full = answers[0].decision;
      var out = document.createDocumentFragment();
      out.appendChild(el('p', null, full.rule + ' ' + full.action + ' on ' + full.node +
                         ' at cycle ' + full.cycle + ' \u2014 ' + full.reason +
                         ' (engine ' + show(full.engine) + ', ' + show(full.created_at) + ')'));
      out.appendChild(el('h3', null, 'Evidence'));
      out.appendChild(el('pre', {'class': 'evidence'},
                         JSON.stringify(full.evidence, null, 2)));
      if (answers[1]) {
        out.appendChild(recoveryView(answers[1].recovery));
      } else {
        out.appendChild(el('p', {'class': 'muted'}, 'No recovery for this decision.'));
      }
      box.replaceChildren(out);
      if (scroll) { box.scrollIntoView({block: 'nearest'}); }
    }, function (err) { fail('decisions-error', err); });
  }

  // -- start -----------------------------------------------------------------

  function start() {
    $('login').hidden = true;
    $('main').hidden = false;
    $('login-error').textContent = '';
    refresh().then(startPolling);
  }

  function init() {
    var rules = $('filter-rule');
    RULES.forEach(function (r) { rules.add(new Option(r, r)); });
    $('login-form').addEventListener('submit', signIn);
    $('logout').addEventListener('click', signOut);
    $('refresh').addEventListener('change', startPolling);
    ['filter-node', 'filter-rule', 'filter-cycles'].forEach(function (id) {
      $(id).addEventListener('change', function () {
        state.timeline = null;
        refresh();
      });
    });
    window.addEventListener('resize', renderTimeline);
    state.auth = loadAuth();
    if (state.auth) {
      start();
    } else {
      $('login').hidden = false;
    }
  }

  document.addEventListener('DOMContentLoaded', init);
}());
