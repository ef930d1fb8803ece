// tests/browser/client-logic.js: push.js's delivery and reconnect rules, run in node against
// fake WebSocket, XMLHttpRequest, script tags and a fake clock: exactly once and in order
// across drops, resume from the last seq, fallback order, backoff, gap, 401. Prints TAP.
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');

const source = fs.readFileSync(path.join(__dirname, '..', '..', 'www', 'push.js'), 'utf8');
const goeasySource = fs.readFileSync(path.join(__dirname, '..', '..', 'www', 'goeasy.js'), 'utf8');
const { ok, is } = require('../tap.js');

// A browser: fake clock, sockets, requests and script tags; push.js loaded into it.
function makeBrowser({ websocket = true, jsonpOnly = false, goeasy = false } = {}) {
  let clock = 0;
  let timers = [];
  let nextTimer = 1;
  const sockets = [];
  const requests = [];
  const scripts = [];
  const delays = [];
  const w = {
    location: { protocol: 'http:', host: 'page.test', search: '' },
    setTimeout(fn, ms) {
      const id = nextTimer++;
      delays.push(ms);
      timers.push({ id, at: clock + (ms || 0), fn });
      return id;
    },
    clearTimeout(id) { timers = timers.filter((t) => t.id !== id); },
    JSON,
  };
  w.window = w;
  class FakeSocket {
    constructor(url) {
      this.url = url;
      this.sent = [];
      this.readyState = 0;
      sockets.push(this);
    }
    send(text) { this.sent.push(JSON.parse(text)); }
    close() { this.readyState = 3; }
    // test side
    open() { this.readyState = 1; this.onopen({}); }
    receive(message) { this.onmessage({ data: JSON.stringify(message) }); }
    drop(code = 1006) { this.readyState = 3; this.onclose({ code, reason: '' }); }
    ops(op) { return this.sent.filter((m) => m.op === op); }
  }
  if (websocket) w.WebSocket = FakeSocket;
  class FakeXHR {
    constructor() { this.withCredentials = false; this.aborted = false; }
    open(method, url) { this.method = method; this.url = url; }
    setRequestHeader() {}
    send(body) { this.body = body; requests.push(this); }
    abort() { this.aborted = true; }
    // test side
    params() { return Object.fromEntries(new URL(this.url, 'http://page.test').searchParams); }
    reply(status, data) {
      this.readyState = 4;
      this.status = status;
      this.responseText = data === undefined ? '' : JSON.stringify(data);
      this.onreadystatechange();
    }
  }
  if (!jsonpOnly) w.XMLHttpRequest = FakeXHR;
  const head = {
    firstChild: null,
    insertBefore(script) { script.parentNode = head; scripts.push(script); },
    removeChild(script) { script.parentNode = null; },
  };
  w.document = {
    readyState: 'complete',
    documentElement: head,
    getElementsByTagName: () => [head],
    createElement: () => ({}),
  };
  vm.createContext(w);
  vm.runInContext(source, w, { filename: 'push.js' });
  if (goeasy) vm.runInContext(goeasySource, w, { filename: 'goeasy.js' });
  const browser = {
    Push: w.Push,
    window: w,
    sockets,
    requests,
    scripts,
    delays,
    // Runs timers due within ms, in order.
    tick(ms = 0) {
      const end = clock + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at || a.id - b.id);
        const t = timers[0];
        if (!t || t.at > end) break;
        timers.shift();
        clock = t.at;
        t.fn();
      }
      clock = end;
    },
    lastSocket: () => sockets[sockets.length - 1],
    pending: () => requests.filter((r) => !r.aborted && r.readyState !== 4),
    // Answers a JSONP script as the server would.
    jsonp(script, data) {
      const params = new URL(script.src, 'http://page.test').searchParams;
      const name = params.get('callback').replace(/^Push\._jsonp\./, '');
      w.Push._jsonp[name](data);
    },
  };
  return browser;
}

function collector() {
  const got = [];
  return { got, onMessage: (m) => got.push(m.seq) };
}

// ---- WebSocket: subscribe, dedupe, resume ----
{
  const b = makeBrowser();
  const events = [];
  const push = b.Push.connect({ appkey: 'K', user: 'alice', transports: ['websocket'],
    onConnected: (i) => events.push(`up:${i.transport}`), onDisconnected: () => events.push('down') });
  const c = collector();
  let success = null;
  push.subscribe({ channel: 'news', onMessage: c.onMessage, onSuccess: (r) => { success = r; } });
  const s1 = b.lastSocket();
  ok(/^ws:\/\/page\.test\/push\/ws\?/.test(s1.url) && /appkey=K/.test(s1.url) && /user=alice/.test(s1.url) &&
    /client=c[0-9a-z]+/.test(s1.url), 'the WebSocket URL is same-origin /push/ws with appkey, client and user');
  s1.open();
  is(events, ['up:websocket'], 'onConnected reports the transport');
  is(push.transport, 'websocket', 'push.transport is websocket');
  const sub = s1.ops('subscribe')[0];
  ok(sub && sub.channel === 'news' && sub.since === undefined, 'subscribe from now sends no since', sub);
  s1.receive({ op: 'subscribed', channel: 'news', seq: 5, gap: false, id: sub.id });
  ok(success && success.seq === 5, 'onSuccess after subscribed, with the head', success);
  for (const seq of [6, 7, 7, 6, 8]) s1.receive({ op: 'message', channel: 'news', seq, content: `m${seq}`, time: 1 });
  is(c.got, [6, 7, 8], 'duplicates and old seqs are dropped');

  s1.drop(1006);
  is(events, ['up:websocket', 'down'], 'onDisconnected when the socket drops');
  ok(b.sockets.length === 1, 'no reconnect before the backoff');
  b.tick(1000);
  const s2 = b.lastSocket();
  ok(s2 !== s1, 'reconnects after the backoff');
  s2.open();
  const sub2 = s2.ops('subscribe')[0];
  is(sub2 && sub2.since, 8, 'the new socket resumes from the last seq delivered');
  s2.receive({ op: 'subscribed', channel: 'news', seq: 10, gap: false, id: sub2.id });
  for (const seq of [8, 9, 10, 11]) s2.receive({ op: 'message', channel: 'news', seq, content: `m${seq}`, time: 1 });
  is(c.got, [6, 7, 8, 9, 10, 11], 'the replay continues exactly after the last seq');
  is(events, ['up:websocket', 'down', 'up:websocket'], 'onConnected again after the reconnect');

  let published = null;
  push.publish({ channel: 'news', message: 'hi', onSuccess: (r) => { published = r; } });
  const op = s2.ops('publish')[0];
  ok(op && op.content === 'hi' && op.channel === 'news', 'publish goes over the socket');
  s2.receive({ op: 'ok', id: op.id, seq: 12 });
  ok(published && published.seq === 12 && published.code === 200, 'publish onSuccess gets the seq', published);
  let refused = null;
  push.publish({ channel: 'news', message: 'x', onFailed: (e) => { refused = e; } });
  s2.receive({ op: 'error', id: s2.ops('publish')[1].id, code: 403, content: 'no' });
  ok(refused && refused.code === 403, 'publish onFailed gets the error', refused);
  let retried = null;
  push.publish({ channel: 'news', message: 'y', msgid: 'order-17', onSuccess: (r) => { retried = r; } });
  const withId = s2.ops('publish')[2];
  ok(withId && withId.msgid === 'order-17', 'publish sends its msgid over the socket', withId);
  s2.receive({ op: 'ok', id: withId.id, seq: 12, duplicate: true });
  ok(retried && retried.seq === 12 && retried.duplicate === true, 'onSuccess sees a duplicate as such', retried);

  push.unsubscribe({ channel: 'news' });
  is(s2.ops('unsubscribe').map((m) => m.channel), ['news'], 'unsubscribe is sent');
  s2.receive({ op: 'message', channel: 'news', seq: 13, content: 'late', time: 1 });
  is(c.got.length, 6, 'nothing is delivered after unsubscribe');
  push.disconnect();
  is(push.state, 'disconnected', 'disconnect() ends the connection');
  b.tick(60000);
  is(b.sockets.length, 2, 'and nothing reconnects after it');
}

// ---- backoff grows with jitter and is capped ----
{
  const b = makeBrowser();
  b.Push.connect({ appkey: 'K', transports: ['websocket'], backoff: 100, backoffMax: 1600 });
  const gaps = [];
  for (let i = 0; i < 8; i++) {
    const before = b.sockets.length;
    const s = b.lastSocket();
    s.drop(1006);
    let waited = 0;
    while (b.sockets.length === before && waited < 100000) { b.tick(10); waited += 10; }
    gaps.push(waited);
  }
  ok(gaps[0] <= 100 && gaps[7] <= 1600 && gaps[7] >= 800 && gaps[3] > gaps[0],
    'reconnect delays grow from the base to the cap, jittered to 50-100%', gaps);
}

// ---- fallback to long-poll, resume by cursor, back to WebSocket ----
{
  const b = makeBrowser();
  const events = [];
  const push = b.Push.connect({ appkey: 'K', wsOpenTimeout: 3000, wsRetry: 20000,
    onConnected: (i) => events.push(i.transport) });
  const c = collector();
  push.subscribe({ channel: 'news', since: 3, onMessage: c.onMessage });
  ok(b.sockets.length === 1 && b.requests.length === 0, 'WebSocket is tried first');
  b.tick(3000);
  is(push.transport, 'xhr', 'a socket that does not open in wsOpenTimeout gives way to xhr');
  b.tick(0);
  let r = b.pending()[0];
  let p = r && r.params();
  ok(p && p.channel === 'news' && p.since === 'news:3' && p.timeout === '0' && p.appkey === 'K' && p.client,
    'the first poll checks the channel at once, from its since', p);
  r.reply(200, { code: 200, messages: [{ channel: 'news', seq: 4, content: 'a', time: 1 }],
    cursor: 'news:4', more: false, gap: [] });
  is(events, ['xhr'], 'onConnected reports xhr');
  r = b.pending()[0];
  p = r.params();
  ok(p.since === 'news:4' && p.timeout === '25', 'then a held poll from the cursor', p);
  r.reply(200, { code: 200, messages: [{ channel: 'news', seq: 4, content: 'a', time: 1 },
    { channel: 'news', seq: 5, content: 'b', time: 1 }], cursor: 'news:5', more: false, gap: [] });
  is(c.got, [4, 5], 'a poll answer delivers in order, once');
  r = b.pending()[0];
  r.reply(503, { code: 503, content: 'database unavailable' });
  ok(b.pending().length === 0, 'a failed poll waits before retrying');
  b.tick(1000);
  r = b.pending()[0];
  ok(r && r.params().since === 'news:5', 'the retry resumes from the last seq', r && r.params());
  is(push.transport, 'xhr', 'a transport that worked is kept after a server error');
  r.reply(200, { code: 200, messages: [{ channel: 'news', seq: 6, content: 'c', time: 1 }],
    cursor: 'news:6', more: false, gap: [] });

  // The WebSocket is tried again in the background and takes over.
  let waited = 0;
  while (b.sockets.length === 1 && waited < 40000) { b.tick(100); waited += 100; }
  const probe = b.lastSocket();
  ok(b.sockets.length === 2 && waited >= 15000 && waited <= 30000, 'WebSocket is tried again after wsRetry', waited);
  const held = b.pending()[0];
  probe.open();
  ok(held.aborted, 'when it opens, the held poll is ended');
  is(push.transport, 'websocket', 'and push.transport is websocket');
  const sub = probe.ops('subscribe')[0];
  is(sub && sub.since, 6, 'the socket resumes from the last seq the poll delivered');
  probe.receive({ op: 'message', channel: 'news', seq: 6, content: 'c', time: 1 });
  probe.receive({ op: 'message', channel: 'news', seq: 7, content: 'd', time: 1 });
  is(c.got, [4, 5, 6, 7], 'across both switches: once, in order');
  is(events, ['xhr', 'xhr', 'websocket'], 'onConnected on each (re)connection, with its transport');
}

// ---- JSONP: callback names, publish as GET, gap ----
{
  const b = makeBrowser({ websocket: false, jsonpOnly: true });
  const push = b.Push.connect({ appkey: 'K', host: 'http://api.test' });
  is(push.transport, 'jsonp', 'without XHR or WebSocket the transport is jsonp');
  const c = collector();
  push.subscribe({ channel: 'news', onMessage: c.onMessage });
  b.tick(0);
  let script = b.scripts[b.scripts.length - 1];
  const params = new URL(script.src).searchParams;
  ok(script.src.indexOf('http://api.test/push/poll?') === 0 && /^[A-Za-z_$][A-Za-z0-9_$.]{0,63}$/.test(params.get('callback')),
    'JSONP polls the host with a valid callback name', script.src);
  ok(!params.has('since'), 'from now: no since on the first poll');
  b.jsonp(script, { code: 200, messages: [], cursor: 'news:40', more: false, gap: [] });
  b.tick(0);
  script = b.scripts[b.scripts.length - 1];
  is(new URL(script.src).searchParams.get('since'), 'news:40', 'the held poll starts at the head');
  b.jsonp(script, { code: 200, messages: [{ channel: 'news', seq: 3, content: 'x', time: 1 }],
    cursor: 'news:3', more: false, gap: ['news'] });
  is(c.got, [3], 'a channel in gap (reset) restarts from what comes');
  b.tick(0);
  script = b.scripts[b.scripts.length - 1];
  is(new URL(script.src).searchParams.get('since'), 'news:3', 'and polls on from there');
  let published = null;
  push.publish({ channel: 'news', message: 'hello', onSuccess: (r) => { published = r; } });
  const pub = b.scripts[b.scripts.length - 1];
  const pp = new URL(pub.src).searchParams;
  ok(pub.src.indexOf('http://api.test/push/publish?') === 0 && pp.get('content') === 'hello' && pp.get('callback'),
    'publish goes as a JSONP GET', pub.src);
  b.jsonp(pub, { code: 200, content: 'OK', channel: 'news', seq: 4 });
  ok(published && published.seq === 4, 'and reports the seq');
  push.publish({ channel: 'news', message: 'again', msgid: 'page-1' });
  is(new URL(b.scripts[b.scripts.length - 1].src).searchParams.get('msgid'), 'page-1', 'a JSONP publish carries msgid');
  let failedWith = null;
  push.history({ channel: 'news', onSuccess: () => {}, onFailed: (e) => { failedWith = e; } });
  b.jsonp(b.scripts[b.scripts.length - 1], { code: 403, content: 'token: missing' });
  ok(failedWith && failedWith.code === 403, 'a JSONP error reply (HTTP 200) reaches onFailed with its code', failedWith);
}

// ---- refusals ----
{
  const b = makeBrowser({ websocket: false });
  let failedWith = null;
  let subFailed = null;
  const push = b.Push.connect({ appkey: 'BAD', onFailed: (e) => { failedWith = e; } });
  push.subscribe({ channel: 'private-x', onMessage: () => {}, onFailed: (e) => { subFailed = e; } });
  b.tick(0);
  b.pending()[0].reply(401, { code: 401, content: 'appkey: unknown' });
  ok(failedWith && failedWith.code === 401 && push.state === 'failed', 'an unknown appkey fails the connection');
  b.tick(60000);
  is(b.pending().length, 0, 'and is not retried');

  const bk = makeBrowser();
  let kicked = null;
  const pushk = bk.Push.connect({ appkey: 'K', user: 'alice', onFailed: (e) => { kicked = e; } });
  pushk.subscribe({ channel: 'news', onMessage: () => {} });
  bk.lastSocket().open();
  bk.lastSocket().drop(4001);
  ok(kicked && kicked.code === 4001 && pushk.state === 'failed', 'a WebSocket closed with 4001 (the user was kicked) fails the connection', kicked);
  bk.tick(60000);
  ok(bk.sockets.length === 1 && bk.pending().length === 0, 'and nothing reconnects with the old token');

  const b2 = makeBrowser({ websocket: false });
  const push2 = b2.Push.connect({ appkey: 'K' });
  const ok1 = collector();
  push2.subscribe({ channel: 'open', onMessage: ok1.onMessage });
  push2.subscribe({ channel: 'private-x', token: 'bad:1', onMessage: () => {}, onFailed: (e) => { subFailed = e; } });
  b2.tick(0);
  const first = b2.pending()[0];
  ok(first.params().channel === 'open,private-x' && first.params().token === 'bad:1', 'new channels are checked together, with their tokens', first.params());
  first.reply(403, { code: 403, content: 'token: mismatch (private-x)' });
  b2.tick(0);
  b2.pending()[0].reply(200, { code: 200, messages: [], cursor: 'open:1', more: false, gap: [] });
  b2.tick(0);
  b2.pending()[0].reply(403, { code: 403, content: 'token: mismatch (private-x)' });
  b2.tick(0);
  ok(subFailed && subFailed.code === 403 && subFailed.channel === 'private-x', 'a refused channel fails alone', subFailed);
  const held = b2.pending()[0];
  ok(held && held.params().channel === 'open' && held.params().since === 'open:1', 'the others go on polling', held && held.params());
}

// ---- read marks over the WebSocket, HTTP when it drops them; read events ----
{
  const b = makeBrowser();
  const push = b.Push.connect({ appkey: 'K', user: 'alice', transports: ['websocket', 'xhr'] });
  const events = [];
  push.subscribeReads({ token: 'T-alice', onRead: (e) => events.push(e) });
  const s1 = b.lastSocket();
  s1.open();
  const sub = s1.ops('subscribe')[0];
  ok(sub && sub.channel === 'read-user-alice' && sub.token === 'T-alice', 'subscribeReads subscribes to read-user-<user> with its token', sub);
  s1.receive({ op: 'subscribed', channel: 'read-user-alice', seq: 0, gap: false, id: sub.id });
  s1.receive({ op: 'message', channel: 'read-user-alice', seq: 1, time: 1,
    content: JSON.stringify({ action: 'read', user: 'alice', channel: 'user-alice', read_seq: 0, seqs: [2], unread: 4 }) });
  s1.receive({ op: 'message', channel: 'read-user-alice', seq: 2, time: 1, content: 'not an event' });
  is(events.map((e) => `${e.channel}:${e.seqs}:${e.unread}`), ['user-alice:2:4'], 'onRead gets each read event, parsed');

  let marked = null;
  push.markRead({ channel: 'user-alice', seqs: [3, 5], token: 'T-alice', onSuccess: (r) => { marked = r; } });
  const read = s1.ops('read')[0];
  is(read && [read.channel, read.seqs, read.token, read.user], ['user-alice', [3, 5], ['T-alice'], 'alice'],
    'markRead on a WebSocket is the op read, with seqs, the token and the user');
  s1.receive({ op: 'read', id: read.id, channel: 'user-alice', user: 'alice', marked: 2 });
  ok(marked && marked.marked === 2 && marked.code === 200, 'its reply reaches onSuccess', marked);

  let counts = null;
  push.unread({ channels: ['user-alice'], token: 'T-alice', onSuccess: (r) => { counts = r; } });
  const unread = s1.ops('unread')[0];
  ok(unread && unread.channels[0] === 'user-alice' && unread.user === 'alice', 'unread is the op unread', unread);
  s1.drop(1006);
  b.tick(0);
  const overHttp = b.pending().find((r) => /\/push\/unread/.test(r.url));
  ok(overHttp && overHttp.params().channel === 'user-alice' && overHttp.params().token === 'T-alice' &&
    overHttp.params().user === 'alice', 'a socket that drops it: the same request goes over HTTP', overHttp && overHttp.params());
  overHttp.reply(200, { code: 200, content: 'OK', user: 'alice', channels: { 'user-alice': { unread: 1 } }, total: 1 });
  ok(counts && counts.total === 1, 'and answers onSuccess', counts);
}

// ---- A claimed user's own data: data= on the WebSocket and long-poll requests ----
{
  const b = makeBrowser();
  b.Push.connect({ appkey: 'K', user: 'bob', data: { name: 'Bob' }, transports: ['websocket'] });
  const params = new URL(b.lastSocket().url.replace(/^ws/, 'http')).searchParams;
  is(params.get('data'), '{"name":"Bob"}', 'data (an object) goes as JSON text in data= on the WebSocket URL');
  const p = makeBrowser({ websocket: false });
  p.Push.connect({ appkey: 'K', user: 'bob', data: '{"name":"Bob"}', transports: ['xhr'] }).subscribe({ channel: 'news' });
  p.tick(0);
  const poll = p.pending().find((r) => /\/push\/poll/.test(r.url));
  is(poll && poll.params().data, '{"name":"Bob"}', 'data (JSON text) goes as data= on each long-poll', poll && poll.params());
  const n = makeBrowser({ websocket: false });
  n.Push.connect({ appkey: 'K', user: 'bob', transports: ['xhr'] }).subscribe({ channel: 'news' });
  n.tick(0);
  const plain = n.pending().find((r) => /\/push\/poll/.test(r.url));
  ok(plain && !('data' in plain.params()), 'no data option: no data=', plain && plain.params());
}
{
  const wsUrl = (options) => {
    const b = makeBrowser({ goeasy: true });
    const goEasy = new b.window.GoEasy(Object.assign({ host: '', appkey: 'K', transports: ['websocket'] }, options));
    b.tick(0);
    return goEasy && b.lastSocket() ? new URL(b.lastSocket().url.replace(/^ws/, 'http')).searchParams : null;
  };
  let q = wsUrl({ userId: 'bob', userData: { name: 'Bob' } });
  is(q && q.get('data'), '{"name":"Bob"}', 'GoEasy 1.x userData (an object) goes as data=');
  q = wsUrl({ userId: 'bob', userData: '{"name":"Bob"}' });
  is(q && q.get('data'), '{"name":"Bob"}', 'GoEasy 1.x userData (JSON text) goes as data=');
  q = wsUrl({ userId: 'bob', userData: 'just text' });
  ok(q && !q.has('data'), 'userData that is not a JSON object is not sent');
  q = wsUrl({ userId: 'bob', userData: { name: 'Bob' }, token: 'a.eyJzdWIiOiJib2IifQ.c' });
  ok(q && !q.has('data'), 'with a token userData is not sent (its info says who the user is)');
  q = wsUrl({ userData: { name: 'Nobody' } });
  ok(q && !q.has('data'), 'without a userId userData is not sent');
}

// ---- A long-poll client leaves presence on disconnect() ----
{
  const b = makeBrowser({ websocket: false });
  const beacons = [];
  b.window.navigator = { sendBeacon: (url) => { beacons.push(url); return true; } };
  const push = b.Push.connect({ appkey: 'K', user: 'bob', client: 'tab-1', token: 'T', transports: ['xhr'] });
  push.subscribe({ channel: 'news' });
  b.tick(0);
  is(beacons.length, 0, 'no leave while polling');
  push.disconnect();
  const q = beacons.length === 1 ? new URL(beacons[0], 'http://page.test') : null;
  ok(q && q.pathname === '/push/leave' && q.searchParams.get('client') === 'tab-1' && q.searchParams.get('user') === 'bob' &&
    q.searchParams.get('appkey') === 'K' && q.searchParams.get('token') === 'T',
    'disconnect() of a long-poll sends one beacon to /push/leave with appkey, client, user and token', beacons);
  push.disconnect();
  is(beacons.length, 1, 'and only once');
}
{
  const b = makeBrowser({ websocket: false });
  const images = [];
  b.window.Image = function Image() { images.push(this); };
  const push = b.Push.connect({ appkey: 'K', client: 'tab-2', transports: ['jsonp'] });
  push.subscribe({ channel: 'news' });
  b.tick(0);
  push.disconnect();
  ok(images.length === 1 && /\/push\/leave\?/.test(images[0].src) && /client=tab-2/.test(images[0].src),
    'without sendBeacon an image request goes to /push/leave', images.map((i) => i.src));
}

require('../tap.js').done();
