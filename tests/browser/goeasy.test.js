// tests/browser/goeasy.test.js: www/goeasy.min.js (push.js and goeasy.js in one file) in
// Debian's Chromium against the stack tests/goeasy-browser.sh started: a page written for
// GoEasy, with only its script tag and host changed. Each callback's shape is compared with
// GoEasy's documented responses. GoEasy 1.x (new GoEasy) over each transport, then 2.x
// (GoEasy.getInstance, connect, goeasy.pubsub); user 张三 on channel 订单 over each transport.
// Prints TAP.
//
// Environment (from tests/goeasy-browser.sh via tests/browser.sh): BASE, PUBLISH_KEY,
// SUBSCRIBE_KEY, SECRET, PUSH_WS_BIN, CHROMIUM.
'use strict';
const fs = require('fs');
const { execFile } = require('child_process');
const { until, curlPublish, jwt, launchChromium, runSuites } = require('./stack.js');
const { ok, is, skip, diag, done } = require('../tap.js');

const env = process.env;
const BASE = env.BASE;
const HAVE_WS = fs.existsSync(env.PUSH_WS_BIN || '');
// The page a GoEasy user has, its script tag pointing here now. It is written into a document
// the server sent (Chromium's local network checks refuse a page the test made up itself).
const HTML = '<!DOCTYPE html><html><head><meta charset="utf-8"><title>GoEasy page</title>' +
  '<script type="text/javascript" src="/goeasy.min.js"></script></head><body></body></html>';

// A batch of contents to one channel in one request.
function curlBatch(channel, contents) {
  const body = JSON.stringify({ appkey: env.PUBLISH_KEY, messages: contents.map((content) => ({ channel, content })) });
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--max-time', '10', '-H', 'Content-Type: application/json', '--data-binary', body,
      `${BASE}/push/publish`], (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout))));
  });
}

let browser;
const pageErrors = [];

async function openPage(label) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${label}: ${error.message}`));
  await page.goto(`${BASE}/push/status`);
  await page.setContent(HTML);
  return page;
}

// Runs fn(resolve, arg) in the page and waits for it to resolve (a GoEasy callback); after
// 20 s without one, resolves to {timeout: 20000}.
function inPage(page, fn, arg) {
  return page.evaluate(({ source, arg: a }) => new Promise((resolve) => {
    setTimeout(() => resolve({ timeout: 20000 }), 20000);
    // eslint-disable-next-line no-new-func
    (new Function('resolve', 'arg', `(${source})(resolve, arg);`))(resolve, a);
  }), { source: fn.toString(), arg });
}

const got = (page) => page.evaluate(() => window.got);

// ---- GoEasy 1.x ----

async function suiteV1(transport) {
  const t = transport;
  const ch = (name) => `ge1-${t}-${name}`;
  const page = await openPage(`v1 ${t}`);
  // onConnectFailed reports each failed attempt; GoEasy goes on trying, and so does this.
  const connected = await inPage(page, (resolve, a) => {
    window.got = [];
    window.failures = [];
    window.goEasy = new GoEasy({
      host: '', appkey: a.appkey, userId: 'alice', userData: '{"name":"Alice"}', transports: [a.t],
      onConnected: function () { resolve({ args: arguments.length, status: window.goEasy.getConnectionStatus() }); },
      onConnectFailed: function (error) { window.failures.push(error); },
    });
  }, { appkey: env.PUBLISH_KEY, t });
  is(connected, { args: 0, status: 'connected' }, `1.x ${t}: onConnected() is called and getConnectionStatus() is "connected"`);
  const failures = await page.evaluate(() => window.failures);
  if (failures.length) diag(`1.x ${t}: failed attempts before: ${JSON.stringify(failures)}`);

  const subscribed = await inPage(page, (resolve, a) => {
    var calls = 0;
    window.goEasy.subscribe({
      channels: a.channels,
      onMessage: function (message) { window.got.push(message); },
      onSuccess: function () { calls++; setTimeout(function () { resolve({ calls: calls, args: arguments.length }); }, 300); },
      onFailed: function (error) { resolve({ error: error }); },
    });
  }, { channels: [ch('a'), ch('b')] });
  is(subscribed, { calls: 1, args: 0 }, `1.x ${t}: subscribe({channels: [2]}) calls onSuccess() once`);

  const seqA = await curlPublish(ch('a'), 'first to a');
  await curlPublish(ch('b'), 'first to b');
  const two = await until('both messages', async () => {
    const list = await got(page);
    return list.length >= 2 && list;
  }, 15000).catch(() => got(page));
  const first = two.find((m) => m.channel === ch('a'));
  ok(!!first && first.content === 'first to a' && typeof first.time === 'number' && first.time > 1.5e12,
    `1.x ${t}: onMessage gets {channel, content, time} from a REST publish`, two);
  ok(two.some((m) => m.channel === ch('b') && m.content === 'first to b'), `1.x ${t}: on both channels`, two);
  ok(!!first && first.seq === seqA, `1.x ${t}: with the seq the publish answered`);

  const published = await inPage(page, (resolve, a) => {
    window.goEasy.publish({
      channel: a.channel, message: 'from the page',
      onSuccess: function () { resolve({ args: arguments.length }); },
      onFailed: function (error) { resolve({ error: error }); },
    });
  }, { channel: ch('a') });
  is(published, { args: 0 }, `1.x ${t}: publish() calls onSuccess()`);
  const echoed = await until('the page\'s own message', async () => (await got(page))
    .find((m) => m.content === 'from the page'), 15000).catch(() => null);
  ok(!!echoed && echoed.channel === ch('a'), `1.x ${t}: the published message arrives`);

  const refused = await inPage(page, (resolve) => {
    window.goEasy.publish({ channel: 'bad channel', message: 'x', onSuccess: function () { resolve('success'); },
      onFailed: function (error) { resolve(error); } });
  });
  ok(refused.code === 400 && typeof refused.content === 'string', `1.x ${t}: a refused publish calls onFailed({code, content})`, refused);

  // history(options, callback) with GoEasy's response shape.
  const history = await inPage(page, (resolve, a) => {
    window.goEasy.history({ channel: a.channel, limit: 2 }, resolve);
  }, { channel: ch('a') });
  is(history && history.content && history.content.messages.map((m) => Object.keys(m).sort().join()),
    ['content,time', 'content,time'], `1.x ${t}: history callback gets {code, content: {messages: [{time, content}]}}`);
  is(history.code, 200, `1.x ${t}: with code 200`);
  is(history.content.messages.map((m) => m.content), ['first to a', 'from the page'],
    `1.x ${t}: the last messages, oldest first`);
  const endAt = history.content.messages[0].time;
  const ended = await inPage(page, (resolve, a) => {
    window.goEasy.history({ channel: a.channel, end: a.end, limit: 10 }, resolve);
  }, { channel: ch('a'), end: endAt });
  is(ended.content.messages.map((m) => m.content), ['first to a'], `1.x ${t}: history end (ms) leaves out later messages`);
  const started = await inPage(page, (resolve, a) => {
    window.goEasy.history({ channel: a.channel, start: a.start, limit: 10 }, resolve);
  }, { channel: ch('a'), start: history.content.messages[1].time });
  is(started.content.messages.map((m) => m.content), ['from the page'], `1.x ${t}: history start (ms) leaves out earlier messages`);

  // hereNow: presence is written in batches, so ask until alice is counted.
  const here = await until('alice in hereNow', async () => {
    const r = await inPage(page, (resolve, a) => {
      window.goEasy.hereNow({ channels: [a.channel], includeUsers: true, distinct: true }, resolve);
    }, { channel: ch('a') });
    return r && r.content && r.content.channels[ch('a')].userAmount >= 1 && r;
  }, 15000).catch((e) => ({ error: e.message }));
  is(here, { code: 200, content: { channels: { [ch('a')]: { channel: ch('a'), clientAmount: 1, userAmount: 1,
    users: [{ id: 'alice', data: { name: 'Alice' } }] } } } },
  `1.x ${t}: hereNow answers {code, content: {channels: {c: {channel, clientAmount, userAmount, users: [{id, data}]}}}}`);
  const counts = await inPage(page, (resolve, a) => {
    window.goEasy.hereNow({ channels: [a.channel] }, resolve);
  }, { channel: ch('a') });
  ok(counts.content.channels[ch('a')].users === undefined && counts.content.channels[ch('a')].clientAmount === 1,
    `1.x ${t}: without includeUsers, counts only`, counts);

  const unsubscribed = await inPage(page, (resolve, a) => {
    window.goEasy.unsubscribe({ channel: a.channel, onSuccess: function () { resolve(true); } });
  }, { channel: ch('b') });
  ok(unsubscribed, `1.x ${t}: unsubscribe calls onSuccess`);
  await curlPublish(ch('b'), 'after unsubscribe');
  await curlPublish(ch('a'), 'still subscribed');
  await until('the message on the kept channel', async () => (await got(page))
    .some((m) => m.content === 'still subscribed'), 15000).catch(() => {});
  const after = await got(page);
  ok(after.some((m) => m.content === 'still subscribed') && !after.some((m) => m.content === 'after unsubscribe'),
    `1.x ${t}: after unsubscribe only the other channel's messages arrive`, after.map((m) => m.content));
  await page.context().close();
}

// Identity: with a token, userId must be its sub.
async function suiteIdentity() {
  const page = await openPage('identity');
  const token = jwt({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 600, channels: ['user-alice'] });
  const mismatch = await inPage(page, (resolve, a) => {
    new GoEasy({ host: '', appkey: a.appkey, userId: 'bob', token: a.token, transports: ['xhr'],
      onConnected: function () { resolve('connected'); },
      onConnectFailed: function (error) { resolve(error); } });
  }, { appkey: env.SUBSCRIBE_KEY, token });
  ok(mismatch && mismatch.code === 401 && /sub/.test(mismatch.content),
    'a userId that is not the token\'s sub: onConnectFailed({code: 401, content})', mismatch);

  const own = await inPage(page, (resolve, a) => {
    var goEasy = new GoEasy({ host: '', appkey: a.appkey, userId: 'alice', token: a.token, transports: ['xhr'] });
    goEasy.subscribe({ channel: 'user-alice', onSuccess: function () { resolve('success'); },
      onFailed: function (error) { resolve(error); } });
  }, { appkey: env.SUBSCRIBE_KEY, token });
  is(own, 'success', 'userId equal to the token\'s sub: its user channel subscribes with the token');

  const without = await inPage(page, (resolve, a) => {
    var goEasy = new GoEasy({ host: '', appkey: a.appkey, userId: 'alice', transports: ['xhr'] });
    goEasy.subscribe({ channel: 'user-alice', onSuccess: function () { resolve('success'); },
      onFailed: function (error) { resolve(error); } });
  }, { appkey: env.SUBSCRIBE_KEY });
  ok(without && without.code === 403, 'without a token the user channel is refused: onFailed({code: 403})', without);
  await page.context().close();
}

// history pages back through more than one server page (100) for a larger limit.
async function suiteHistoryPaging() {
  const contents = [];
  for (let i = 1; i <= 130; i++) contents.push(`m${i}`);
  const reply = await curlBatch('ge-many', contents);
  if (!ok(reply.code === 200, 'a batch of 130 messages to ge-many', reply)) return;
  const page = await openPage('paging');
  const r = await inPage(page, (resolve, a) => {
    var goEasy = new GoEasy({ host: '', appkey: a.appkey, transports: ['xhr'] });
    goEasy.history({ channel: 'ge-many', limit: 120 }, resolve);
  }, { appkey: env.SUBSCRIBE_KEY });
  const list = (r.content && r.content.messages || []).map((m) => m.content);
  is([list.length, list[0], list[list.length - 1]], [120, 'm11', 'm130'],
    'history limit 120 over 130 messages: the newest 120, oldest first');
  await page.context().close();
}

// Chinese names over each transport: user 张三 on channel 订单.
async function suiteNames(transport) {
  const t = transport;
  const channel = `订单-${t}`;
  const page = await openPage(`names ${t}`);
  const subscribed = await inPage(page, (resolve, a) => {
    window.got = [];
    window.goEasy = new GoEasy({ host: '', appkey: a.appkey, userId: '张三', userData: { name: '张三' }, transports: [a.t] });
    window.goEasy.subscribe({ channel: a.channel, onMessage: function (m) { window.got.push(m); },
      onSuccess: function () { resolve('success'); }, onFailed: function (error) { resolve(error); } });
  }, { appkey: env.SUBSCRIBE_KEY, t, channel });
  is(subscribed, 'success', `names ${t}: 张三 subscribes to ${channel}`);
  const seq = await curlPublish(channel, '新订单');
  const message = await until('the message', async () => (await got(page))[0], 15000).catch(() => null);
  ok(!!message && message.channel === channel && message.content === '新订单' && message.seq === seq,
    `names ${t}: a publish to ${channel} arrives`, message);
  const here = await until('张三 in hereNow', async () => {
    const r = await inPage(page, (resolve, a) => {
      window.goEasy.hereNow({ channels: [a.channel], includeUsers: true }, resolve);
    }, { channel });
    return r && r.content && r.content.channels[channel].userAmount >= 1 && r;
  }, 15000).catch((e) => ({ error: e.message }));
  is(here.content && here.content.channels[channel].users, [{ id: '张三', data: { name: '张三' } }],
    `names ${t}: hereNow lists 张三`);
  const refused = await inPage(page, (resolve) => {
    window.goEasy.subscribe({ channel: '订\u3000单', onSuccess: function () { resolve('success'); },
      onFailed: function (error) { resolve(error); } });
  });
  ok(refused && refused.code === 400, `names ${t}: a channel with an ideographic space is refused (400)`, refused);
  await page.context().close();
}

// push.js's read marks: 张三 (the subscribe key and 张三's token) marks a channel read.
async function suiteReadMarks() {
  const channel = '订单-read';
  for (let i = 1; i <= 3; i++) await curlPublish(channel, `order ${i}`);
  const token = jwt({ sub: '张三', exp: Math.floor(Date.now() / 1000) + 600, channels: ['user-张三'] });
  const page = await openPage('read marks');
  const r = await inPage(page, (resolve, a) => {
    var push = Push.connect({ appkey: a.appkey, user: '张三', transports: ['xhr'] });
    push.markRead({ channel: a.channel, seq: 1, token: a.token, onFailed: resolve, onSuccess: function (marked) {
      push.markRead({ channel: a.channel, seqs: [3], token: a.token, onFailed: resolve, onSuccess: function (each) {
        push.unread({ channel: a.channel, token: a.token, onFailed: resolve, onSuccess: function (counts) {
          resolve({ marked: marked.seq, each: each.marked, unread: counts.channels[a.channel].unread, total: counts.total });
        } });
      } });
    } });
  }, { appkey: env.SUBSCRIBE_KEY, channel, token });
  is(r, { marked: 1, each: 1, unread: 1, total: 1 },
    'push.markRead reads 订单-read up to 1, then message 3 alone; push.unread({channel}) counts 1 (message 2)');
  const refused = await inPage(page, (resolve, a) => {
    Push.connect({ appkey: a.appkey, user: '张三', transports: ['xhr'] }).unread({ onSuccess: resolve, onFailed: resolve });
  }, { appkey: env.SUBSCRIBE_KEY });
  ok(refused && refused.code === 403, 'push.unread without 张三\'s token: onFailed({code: 403})', refused);
  await page.context().close();
}

// Presence events: three WebSocket tabs of dora seen from a 1.x page on long-poll (join once,
// leave when the last tab goes), then a long-poll tab of erin seen from a 2.x page.
async function suitePresence() {
  const channel = 'ge-room';
  const watcher = await openPage('presence watcher');
  const watching = await inPage(watcher, (resolve, a) => {
    window.events = [];
    window.goEasy = new GoEasy({ host: '', appkey: a.appkey, userId: 'alice', transports: ['jsonp'] });
    window.goEasy.subscribePresence({ channel: a.channel, onPresence: function (e) { window.events.push(e); },
      onSuccess: function () { resolve('success'); }, onFailed: function (error) { resolve(error); } });
  }, { appkey: env.SUBSCRIBE_KEY, channel });
  is(watching, 'success', 'presence: subscribePresence calls onSuccess');
  const events = () => watcher.evaluate(() => window.events.map((e) => `${e.action}:${e.userId}`).join(' '));
  const tabs = [];
  for (let i = 0; i < 3; i++) {
    const tab = await openPage(`presence tab ${i}`);
    const r = await inPage(tab, (resolve, a) => {
      window.goEasy = new GoEasy({ host: '', appkey: a.appkey, userId: 'dora', transports: ['websocket'] });
      window.goEasy.subscribe({ channel: a.channel, onSuccess: function () { resolve('success'); },
        onFailed: function (error) { resolve(error); } });
    }, { appkey: env.SUBSCRIBE_KEY, channel });
    if (r !== 'success') diag(`presence tab ${i}: ${JSON.stringify(r)}`);
    tabs.push(tab);
  }
  const joined = await until('three online events', async () => {
    const e = await events();
    return (e.match(/online:dora/g) || []).length >= 3 && e;
  }, 20000).catch(() => events());
  is(joined, 'online:dora join:dora online:dora online:dora',
    'presence: three tabs of dora give online three times and join once, in order');
  const first = await watcher.evaluate(() => window.events[1]);
  ok(first && first.channel === channel && first.userAmount === 1 && first.clientAmount === 1 &&
    typeof first.time === 'number' && typeof first.userData === 'object',
  'presence: a 1.x event has channel, userId, userData, time, clientAmount and userAmount', first);
  await tabs[0].context().close();
  await tabs[1].context().close();
  await until('two offline events', async () => ((await events()).match(/offline:dora/g) || []).length >= 2, 20000)
    .catch(() => {});
  ok(!/leave/.test(await events()), 'presence: two of the three tabs close: offline, no leave', await events());
  await tabs[2].context().close();
  const left = await until('the leave event', async () => /leave:dora/.test(await events()) && events(), 20000)
    .catch(() => events());
  ok(/offline:dora offline:dora offline:dora leave:dora$/.test(left), 'presence: the last tab closes: leave', left);

  const v2 = await inPage(watcher, (resolve, a) => {
    window.v2events = [];
    window.v2 = GoEasy.getInstance({ host: '', appkey: a.appkey, modules: ['pubsub'], transports: ['websocket'] });
    window.v2.connect({ id: 'frank', onSuccess: function () {
      window.v2.pubsub.subscribePresence({ channel: a.channel, onPresence: function (e) { window.v2events.push(e); },
        onSuccess: function () { resolve('success'); }, onFailed: function (error) { resolve(error); } });
    } });
  }, { appkey: env.SUBSCRIBE_KEY, channel });
  is(v2, 'success', 'presence: 2.x pubsub.subscribePresence calls onSuccess');
  const erin = await openPage('presence erin');
  await inPage(erin, (resolve, a) => {
    window.goEasy = new GoEasy({ host: '', appkey: a.appkey, userId: 'erin', userData: { n: 1 }, transports: ['xhr'] });
    window.goEasy.subscribe({ channel: a.channel, onSuccess: function () { resolve('success'); },
      onFailed: function (error) { resolve(error); } });
  }, { appkey: env.SUBSCRIBE_KEY, channel });
  const event = await until('erin\'s join', () => watcher.evaluate(() => window.v2events[0]), 20000).catch(() => null);
  ok(!!event && event.action === 'join' && event.member.id === 'erin' && typeof event.member.data === 'object' &&
    event.amount === 1, 'presence: a long-poll tab of erin reaches the 2.x page as {action: "join", member: {id, data}, amount}',
  event);
  await erin.context().close();
  await watcher.context().close();
}

// ---- GoEasy 2.x ----

async function suiteV2(transport) {
  const t = transport;
  const channel = `ge2-${t}`;
  let page = await openPage(`v2 ${t}`);
  const context = page.context();
  const same = await page.evaluate(() => GoEasy.getInstance({ host: '', appkey: 'x' }) === GoEasy.getInstance({}));
  ok(same, `2.x ${t}: GoEasy.getInstance returns one instance`);
  await page.close();
  page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`v2 ${t}: ${error.message}`));
  await page.goto(`${BASE}/push/status`);
  await page.setContent(HTML);

  const early = await inPage(page, (resolve, a) => {
    window.got = [];
    window.goEasy = GoEasy.getInstance({ host: '', appkey: a.appkey, modules: ['pubsub'], transports: [a.t] });
    window.goEasy.pubsub.subscribe({ channel: 'x', onSuccess: function () { resolve('success'); },
      onFailed: function (error) { resolve(error); } });
  }, { appkey: env.PUBLISH_KEY, t });
  ok(early && early.code === 400, `2.x ${t}: pubsub before connect() calls onFailed`, early);

  const connected = await inPage(page, (resolve) => {
    window.goEasy.connect({ id: 'carol', data: { nickname: 'Carol' },
      onSuccess: function () { resolve({ args: arguments.length, status: window.goEasy.getConnectionStatus() }); },
      onFailed: function (error) { resolve(error); } });
  });
  is(connected, { args: 0, status: 'connected' }, `2.x ${t}: connect({id, data}) calls onSuccess()`);

  const subscribed = await inPage(page, (resolve, a) => {
    window.goEasy.pubsub.subscribe({ channel: a.channel, onMessage: function (m) { window.got.push(m); },
      onSuccess: function () { resolve('success'); }, onFailed: function (error) { resolve(error); } });
  }, { channel });
  is(subscribed, 'success', `2.x ${t}: pubsub.subscribe calls onSuccess`);

  const published = await inPage(page, (resolve, a) => {
    window.goEasy.pubsub.publish({ channel: a.channel, message: '你好 from carol',
      onSuccess: function () { resolve('success'); }, onFailed: function (error) { resolve(error); } });
  }, { channel });
  is(published, 'success', `2.x ${t}: pubsub.publish calls onSuccess`);
  const message = await until('the message', async () => (await got(page))[0], 15000).catch(() => null);
  ok(!!message && message.channel === channel && message.content === '你好 from carol' && typeof message.time === 'number',
    `2.x ${t}: onMessage gets {channel, content, time}`, message);

  const history = await inPage(page, (resolve, a) => {
    window.goEasy.pubsub.history({ channel: a.channel, limit: 10, onSuccess: resolve, onFailed: resolve });
  }, { channel });
  ok(history.code === 200 && history.content.messages.length === 1 &&
    history.content.messages[0].content === '你好 from carol' && typeof history.content.messages[0].time === 'number',
  `2.x ${t}: pubsub.history answers {code: 200, content: {messages: [{time, content}]}}`, history);

  const here = await until('carol in hereNow', async () => {
    const r = await inPage(page, (resolve, a) => {
      window.goEasy.pubsub.hereNow({ channel: a.channel, limit: 10, onSuccess: resolve, onFailed: resolve });
    }, { channel });
    return r && r.content && r.content.amount >= 1 && r;
  }, 15000).catch((e) => ({ error: e.message }));
  is(here, { code: 200, content: { channel, amount: 1, members: [{ id: 'carol', data: { nickname: 'Carol' } }] } },
    `2.x ${t}: pubsub.hereNow answers {code, content: {channel, amount, members: [{id, data}]}}`);

  const disconnected = await inPage(page, (resolve) => {
    window.goEasy.disconnect({ onSuccess: function () { resolve(window.goEasy.getConnectionStatus()); } });
  });
  is(disconnected, 'disconnected', `2.x ${t}: disconnect() calls onSuccess and the status is "disconnected"`);
  await page.context().close();
}

async function main() {
  browser = await launchChromium();
  diag(`Chromium ${browser.version()}, stack at ${BASE}`);
  const suites = [];
  for (const t of ['websocket', 'xhr', 'jsonp']) {
    if (t === 'websocket' && !HAVE_WS) skip('GoEasy 1.x over websocket', 'ws/push-ws is not built');
    else suites.push(() => suiteV1(t));
  }
  suites.push(suiteIdentity, suiteHistoryPaging);
  for (const t of ['websocket', 'xhr', 'jsonp']) {
    if (t === 'websocket' && !HAVE_WS) skip('names over websocket', 'ws/push-ws is not built');
    else suites.push(() => suiteNames(t));
  }
  suites.push(suiteReadMarks);
  if (HAVE_WS) suites.push(suitePresence);
  else skip('presence events', 'ws/push-ws is not built');
  for (const t of ['websocket', 'jsonp']) {
    if (t === 'websocket' && !HAVE_WS) skip('GoEasy 2.x over websocket', 'ws/push-ws is not built');
    else suites.push(() => suiteV2(t));
  }
  await runSuites(browser, suites, pageErrors);
}

main().catch((e) => {
  ok(false, `goeasy browser test: ${e.message}`);
  diag(e.stack);
  done(true);
});
