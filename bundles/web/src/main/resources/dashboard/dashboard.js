// The ServiceFarm dashboard. Reads /events (server-sent events: one "snapshot", then deltas) with fetch, because
// EventSource cannot send the Authorization header of the REST API's login. Every name from the farm is written
// with textContent, never as HTML.
'use strict';

const STATES = ['ACTIVE', 'SLEEPING', 'ARCHIVED', 'CREATING', 'STARTING', 'RESUMING', 'RESTORING',
  'SUSPENDING', 'ARCHIVING', 'DESTROYING', 'FAILED'];
const farm = { hosts: new Map(), vms: new Map(), answers: [] };
let authorization = null;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// A class name only from the known states: a value from the server never becomes markup or a selector.
function stateClass(state) {
  return STATES.includes(state) ? 'state-' + state : 'state-other';
}

function base64(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  bytes.forEach(b => { binary += String.fromCharCode(b); });
  return btoa(binary);
}

function setStatus(status, text) {
  const node = document.getElementById('status');
  node.dataset.status = status;
  node.textContent = text;
}

function renderHosts() {
  const container = document.getElementById('hosts');
  const byHost = new Map();
  farm.vms.forEach(vm => {
    if (!byHost.has(vm.host)) byHost.set(vm.host, []);
    byHost.get(vm.host).push(vm);
  });
  const names = new Set([...farm.hosts.keys(), ...byHost.keys()]);
  const boxes = [];
  [...names].sort().forEach(name => {
    const host = farm.hosts.get(name) || { name, connected: true };
    const box = el('div', 'host' + (host.connected ? '' : ' disconnected'));
    box.dataset.host = name;
    box.append(el('h3', null, name + (host.drained ? ' (drained)' : '')));
    if (host.vmCapacity !== undefined) {
      box.append(el('div', 'use', host.vms + '/' + host.vmCapacity + ' VMs, ' + host.memoryMiB + '/'
        + host.memoryCapacityMiB + ' MiB'
        + (host.stagingUsedPercent === undefined ? '' : ', staging ' + Math.floor(host.stagingUsedPercent) + '% full')
        + (host.connected ? '' : ', disconnected')));
      const bar = el('div', 'bar');
      const fill = el('div');
      fill.style.width = Math.round(Math.min(1, Math.max(0, Number(host.load) || 0)) * 100) + '%';
      bar.append(fill);
      box.append(bar);
    }
    const vms = el('div', 'vms');
    (byHost.get(name) || []).sort((a, b) => a.id.localeCompare(b.id)).forEach(vm => {
      const chip = el('span', 'vm ' + stateClass(vm.state), vm.service + ' ' + vm.state.toLowerCase());
      chip.dataset.vm = vm.id;
      chip.dataset.state = vm.state;
      chip.dataset.service = vm.service;
      chip.title = vm.id + '\n' + vm.offering + (vm.endpoint ? '\n' + vm.endpoint : '')
        + '\ngrants: ' + vm.grants + (vm.detail ? '\n' + vm.detail : '');
      vms.append(chip);
    });
    box.append(vms);
    boxes.push(box);
  });
  container.replaceChildren(...boxes);
}

function renderAnswers() {
  document.getElementById('answers').replaceChildren(...farm.answers.map(a => {
    const item = el('li', 'answer outcome-' + (['GRANTED', 'RETRY_LATER', 'NEVER'].includes(a.outcome) ? a.outcome : 'other'));
    item.dataset.outcome = a.outcome;
    item.dataset.service = a.service;
    const when = a.at ? a.at.substring(11, 19) + ' ' : '';
    let text = when + a.service + ': ' + a.outcome;
    if (a.outcome === 'GRANTED') text += ' ' + a.endpoint + ' on ' + a.host + ' (' + a.activation + ')';
    else if (a.detail) text += ' (' + a.detail + ')';
    if (a.elapsedMs !== null && a.elapsedMs !== undefined) text += ', ' + a.elapsedMs + ' ms';
    item.textContent = text;
    return item;
  }));
}

function renderBuilds(builds) {
  const list = document.getElementById('builds');
  if (builds.length === 0) {
    list.replaceChildren(el('li', 'none', 'none in progress'));
    return;
  }
  list.replaceChildren(...builds.map(b => {
    const item = el('li', 'build', (b.offering || b.id) + ': ' + b.doing + ' (' + b.step + '/' + b.steps + ', '
      + Math.round(b.fraction * 100) + '%)');
    item.dataset.image = b.id;
    return item;
  }));
}

function renderPopular(popular) {
  document.getElementById('popular').replaceChildren(...popular.map(p =>
    el('li', 'popular', p.offering + ': ' + p.requests + ' requests' + (p.prebuilt ? ', image prebuilt' : ''))));
}

// "3m" from a number of seconds (at least 0)
function span(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return s < 60 ? s + 's' : s < 3600 ? Math.floor(s / 60) + 'm' : s < 86400 ? Math.floor(s / 3600) + 'h'
    : Math.floor(s / 86400) + 'd';
}

function renderKeepAlive(keepAlive) {
  document.getElementById('keepalive-policy').textContent = keepAlive.policy || 'none in force';
  const list = document.getElementById('keepalive');
  if (keepAlive.combinations.length === 0) {
    list.replaceChildren(el('li', 'none', 'no plan per combination'));
    return;
  }
  const now = Date.now();
  list.replaceChildren(...keepAlive.combinations.map(k => {
    const from = k.warmFrom && Date.parse(k.warmFrom);
    const until = k.warmUntil && Date.parse(k.warmUntil);
    const when = !from ? 'not wanted in memory before its next request'
      : from <= now ? 'wanted in memory now, ' + span((until - now) / 1000) + ' more'
      : 'wanted in memory in ' + span((from - now) / 1000) + ', for ' + span((until - from) / 1000);
    const item = el('li', 'keepalive', k.offering + ': ' + when + ' (' + k.reading + ')');
    item.dataset.offering = k.offering;
    return item;
  }));
}

// A configuration a component refused stands until it is mended: said above everything else while it does.
function renderRefused(refused) {
  const list = refused || [];
  document.getElementById('refused').hidden = list.length === 0;
  document.getElementById('refused-list').replaceChildren(...list.map(r => {
    const item = el('li', 'refused', r.pid + ': ' + r.reason + '; ' + r.inForce);
    item.dataset.pid = r.pid;
    return item;
  }));
}

// Services hosts run themselves (no VM): granted while they answer.
function renderNatives(natives) {
  const list = natives || [];
  document.getElementById('natives').hidden = list.length === 0;
  document.getElementById('natives-list').replaceChildren(...list.map(n => {
    const item = el('li', 'native ' + (n.answering ? 'answering' : 'silent'), n.name + ': ' + n.offering + ' on '
      + n.host + ' at ' + n.endpoint + (n.answering ? ', answering' : ', not answering' + (n.detail ? ' (' + n.detail + ')' : ''))
      + ', ' + n.grants + ' granted');
    item.dataset.name = n.name;
    return item;
  }));
}

function renderLegend() {
  document.getElementById('legend').replaceChildren(...['ACTIVE', 'SLEEPING', 'ARCHIVED', 'CREATING', 'STARTING',
    'FAILED'].map(s => el('span', 'vm ' + stateClass(s), s.toLowerCase())));
}

const handlers = {
  snapshot(data) {
    farm.hosts = new Map(data.hosts.map(h => [h.name, h]));
    farm.vms = new Map(data.vms.map(v => [v.id, v]));
    farm.answers = data.answers;
    renderHosts();
    renderAnswers();
    renderBuilds(data.builds);
    renderPopular(data.popular);
    renderKeepAlive(data.keepalive);
    renderRefused(data.refused);
    renderNatives(data.natives);
  },
  vm(vm) {
    if (vm.state === 'DESTROYED') farm.vms.delete(vm.id);
    else farm.vms.set(vm.id, vm);
    renderHosts();
  },
  answer(answer) {
    farm.answers.unshift(answer);
    farm.answers.length = Math.min(farm.answers.length, 20);
    renderAnswers();
  },
  hosts(hosts) {
    farm.hosts = new Map(hosts.map(h => [h.name, h]));
    renderHosts();
  },
  builds: renderBuilds,
  popular: renderPopular,
  keepalive: renderKeepAlive,
  refused: renderRefused,
  natives: renderNatives,
};

// One server-sent event block: "event: NAME" and "data: ..." lines.
function dispatch(block) {
  let name = 'message';
  const data = [];
  block.split('\n').forEach(line => {
    if (line.startsWith('event:')) name = line.substring(6).trim();
    else if (line.startsWith('data:')) data.push(line.substring(5).replace(/^ /, ''));
  });
  const handler = handlers[name];
  if (handler && data.length > 0) handler(JSON.parse(data.join('\n')));
}

async function follow() {
  // credentials 'omit': the login is the header given here; and a 401 is then the page's to show, not an
  // occasion for the browser's own Basic login prompt (which would hold the request).
  const response = await fetch('/events', { headers: { Authorization: authorization, Accept: 'text/event-stream' },
    cache: 'no-store', credentials: 'omit' });
  if (response.status === 401 || response.status === 403) {
    let detail = 'refused';
    try { detail = (await response.json()).detail || detail; } catch (e) { /* not problem+json */ }
    throw Object.assign(new Error(detail), { login: true });
  }
  if (!response.ok) throw new Error('HTTP ' + response.status);
  document.getElementById('login').hidden = true;
  document.getElementById('farm').hidden = false;
  setStatus('live', 'live');
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      dispatch(buffer.substring(0, end));
      buffer = buffer.substring(end + 2);
    }
  }
}

// Follows the feed; when the stream ends, connects again after a pause and starts over from a new snapshot.
async function connect() {
  for (;;) {
    try {
      await follow();
      setStatus('lost', 'reconnecting');
    } catch (e) {
      if (e.login) {
        authorization = null;
        setStatus('out', 'logged out');
        document.getElementById('farm').hidden = true;
        document.getElementById('login').hidden = false;
        document.getElementById('login-error').textContent = e.message;
        return;
      }
      setStatus('lost', 'connection lost: ' + e.message);
    }
    await new Promise(resolve => setTimeout(resolve, 3000));
  }
}

document.getElementById('login').addEventListener('submit', event => {
  event.preventDefault();
  const user = document.getElementById('user').value;
  const password = document.getElementById('password').value;
  authorization = 'Basic ' + base64(user + ':' + password);
  document.getElementById('password').value = '';
  document.getElementById('login-error').textContent = '';
  connect();
});
renderLegend();
