// tests/browser/push.test.js: push.js and the demo page in Debian's Chromium, driven by
// playwright-core, against the stack tests/browser.sh started. Prints TAP.
//
// For each forced transport (websocket, xhr, jsonp): a page subscribes; a curl publish
// arrives; a message sent from a second page arrives in the first; the sidecar (websocket)
// or the long-poll FastCGI program (xhr, jsonp) is killed mid-stream and comes back, and both
// pages still get every message exactly once, in order; push.js publishes to a private channel
// with a token's publish claim (403 without), and subscribes to and reads the history of the
// page user's user-<id> with its token, every bad token (forged, expired, alg none, HS512,
// another user's, another channel's) refused with 403. Then: the default transport order,
// falling back to long-poll when the sidecar is down and back to WebSocket when it returns,
// and cross-origin pages (CORS XHR, JSONP, WebSocket).
//
// Environment (from tests/browser.sh): BASE, PUBLISH_KEY, SUBSCRIBE_KEY, LIGHTTPD_PID, PUSH_FCGI_DIR,
// PUSH_WS_BIN, PUSH_WS_PORT, PUSH_WS_LOG, PUSH_WS_PIDS, CHROMIUM, PUSH_ARTIFACTS,
// PUSH_BROWSER_TMP.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { sleep, until, curlPublish, jwt, launchChromium, runSuites } = require('./stack.js');

const env = process.env;
const BASE = env.BASE;
const CROSS_BASE = BASE.replace('127.0.0.1', 'localhost');   // another origin, same server
const ARTIFACTS = env.PUSH_ARTIFACTS || path.join(__dirname, '..', 'artifacts');
const HAVE_WS = fs.existsSync(env.PUSH_WS_BIN || '');

// ---- TAP ----
const { ok, skip, diag, done } = require('../tap.js');

// ---- the backend side ----

function readPids() {
  return fs.readFileSync(env.PUSH_WS_PIDS, 'utf8').split('\n').filter(Boolean).map(Number);
}

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch (e) { return false; }
}

function sidecarPid() {
  const pids = readPids().filter(alive);
  return pids[pids.length - 1];
}

function listening(port) {
  return new Promise((resolve) => {
    const socket = require('net').connect(port, '127.0.0.1');
    socket.on('connect', () => { socket.destroy(); resolve(true); });
    socket.on('error', () => resolve(false));
  });
}

async function killSidecar() {
  const pid = sidecarPid();
  if (pid) process.kill(pid, 'SIGKILL');
  await until('the sidecar to exit', async () => !alive(pid) && !(await listening(Number(env.PUSH_WS_PORT))), 10000);
}

// Starts push-ws again with the same environment and port.
async function startSidecar() {
  const log = fs.openSync(env.PUSH_WS_LOG, 'a');
  const child = spawn(env.PUSH_WS_BIN, [], { stdio: ['ignore', log, log], detached: false });
  fs.appendFileSync(env.PUSH_WS_PIDS, `${child.pid}\n`);
  fs.closeSync(log);
  await until('the sidecar to listen', () => listening(Number(env.PUSH_WS_PORT)), 10000);
}

// The long-poll program: the child of lighttpd running push-poll.
function pollPid() {
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== Number(env.LIGHTTPD_PID)) continue;
      const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (cmdline.includes('push-poll')) return Number(name);
    } catch (e) {
      // gone meanwhile
    }
  }
  return null;
}

// ---- the pages ----

let browser;
const pageErrors = [];

async function openDemo(query, base = BASE) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 760 } });
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${query}: ${error.message}`));
  await page.goto(`${base}/demo.html?${query}`);
  return page;
}

async function waitReady(page, transport) {
  await until(`the page to subscribe via ${transport}`, () => page.evaluate(
    (t) => !!(window.demo && window.demo.ready && window.demo.push && window.demo.push.transport === t &&
      window.demo.push.state === 'connected'), transport), 20000);
}

// waitReady as an assertion's value: true when ready, false (with the reason) on timeout.
const isReady = (page, transport) => waitReady(page, transport).then(() => true, (e) => { diag(e.message); return false; });

const received = (page) => page.evaluate(() => window.demo.received);

// Every seq once, ascending, no holes, from the first received on.
function checkSequence(list) {
  for (let i = 1; i < list.length; i++) {
    if (list[i].seq !== list[i - 1].seq + 1) {
      return `at ${i}: seq ${list[i - 1].seq} then ${list[i].seq}`;
    }
  }
  return null;
}

async function waitForSeq(page, seq, timeout = 30000) {
  await until(`seq ${seq} in the page`, async () => {
    const list = await received(page);
    return list.length && list[list.length - 1].seq >= seq;
  }, timeout);
}

// Publishes count messages at interval ms; after `at` of them runs interrupt() (not awaited
// before the next publish: publishing goes on while the component is down).
async function publishStream(channel, label, count, interval, at, interrupt) {
  const published = [];
  let interruption = null;
  for (let i = 0; i < count; i++) {
    if (i === at) interruption = interrupt();
    const content = `${label} ${i + 1}/${count}`;
    published.push({ seq: await curlPublish(channel, content), content });
    await sleep(interval);
  }
  await interruption;
  return published;
}

function compare(list, published) {
  const bySeq = new Map(list.map((m) => [m.seq, m.content]));
  const missing = published.filter((p) => bySeq.get(p.seq) !== p.content);
  const seqs = list.map((m) => m.seq);
  const dups = seqs.filter((s, i) => seqs.indexOf(s) !== i);
  return { missing, dups, gap: checkSequence(list) };
}

// ---- one forced transport ----

async function transportSuite(transport) {
  const channel = `room-${transport}`;
  if (transport === 'websocket' && !HAVE_WS) {
    skip(`${transport}: a page subscribes, receives, survives a sidecar restart`, 'ws/push-ws is not built yet');
    return;
  }
  if (transport !== 'websocket' && !fs.existsSync(path.join(env.PUSH_FCGI_DIR || '', 'push-poll'))) {
    skip(`${transport}: a page subscribes, receives, survives a push-poll restart`, 'fcgi/push-poll is not built yet');
    return;
  }
  const a = await openDemo(`transports=${transport}&user=alice&channel=${channel}`);
  if (!ok(await isReady(a, transport), `${transport}: page A subscribed to ${channel}`)) return;
  ok(await a.textContent('#transport') === transport, `${transport}: the page shows the transport in use`);

  const seq1 = await curlPublish(channel, `hello ${transport} from curl`);
  await waitForSeq(a, seq1, 15000).catch(() => {});
  let list = await received(a);
  ok(list.some((m) => m.seq === seq1 && m.content === `hello ${transport} from curl`),
    `${transport}: a curl publish arrives in page A`, list);
  ok(await a.locator(`#messages li[data-seq="${seq1}"]`).count() === 1, `${transport}: it is listed once`);
  ok(await a.locator('.toast').count() >= 1, `${transport}: and shown as a toast`);

  const b = await openDemo(`transports=${transport}&user=bob&channel=${channel}`);
  await waitReady(b, transport);
  await b.fill('#message', `hi from bob over ${transport}`);
  await b.click('#send-button');
  const sent = await until(`bob's message in page A`, async () => {
    const l = await received(a);
    return l.find((m) => m.content.indexOf(`hi from bob over ${transport}`) >= 0);
  }, 15000).catch(() => null);
  ok(!!sent, `${transport}: a message sent from page B arrives in page A`);
  if (sent) {
    ok(JSON.parse(sent.content).from === 'bob', `${transport}: with its sender`);
    await waitForSeq(b, sent.seq, 10000).catch(() => {});
    ok((await received(b)).some((m) => m.seq === sent.seq), `${transport}: and in page B itself`);
    // The box is cleared when the publish is answered, which may come after the message.
    ok(await until('page B clears its box', async () => (await b.inputValue('#message')) === '', 10000)
      .then(() => true, () => false), `${transport}: page B clears its message box after sending`);
  }

  // A page publishes to a private channel with its token's publish claim; without it, 403.
  const priv = `private-page-${transport}`;
  const pagePublish = (token) => a.evaluate(([ch, tok]) => new Promise((resolve) => {
    window.demo.push.publish({ channel: ch, message: 'from the page', token: tok || undefined,
      onSuccess: (r) => resolve({ ok: true, seq: r.seq }),
      onFailed: (e) => resolve({ ok: false, code: e.code, content: e.content }) });
  }), [priv, token]);
  const withToken = await pagePublish(env.PAGE_TOKEN);
  ok(withToken.ok && withToken.seq === 1, `${transport}: push.publish with a token's publish claim reaches ${priv}`,
    withToken);
  const without = await pagePublish(null);
  ok(!without.ok && without.code === 403, `${transport}: and without the token: 403`, without);

  // Page A is alice's. push.js subscribes and reads history with every bad token at once (one
  // poll restart: a JSONP page cannot cancel the held polls it leaves), each on a channel the
  // token would open were it good: all 403. Then user-alice with her own token: subscribed.
  const exp = Math.floor(Date.now() / 1000) + 600;
  const badTokens = [
    ['a forged', 'private-t1', jwt({ sub: 'alice', exp, channels: ['private-t1'] }, 'HS256', 'not-the-secret')],
    ['an expired', 'private-t2', jwt({ sub: 'alice', exp: exp - 1200, channels: ['private-t2'] })],
    ['an alg none', 'private-t3', jwt({ sub: 'alice', exp, channels: ['private-t3'] }, 'none')],
    ['an alg HS512', 'private-t4', jwt({ sub: 'alice', exp, channels: ['private-t4'] }, 'HS512')],
    ["bob's (another sub)", 'user-alice', jwt({ sub: 'bob', exp, channels: ['user-*'] })],
    ["another channel's", 'private-t6', jwt({ exp, channels: ['private-page-*'] })],
  ];
  const tokenUse = (uses) => a.evaluate((list) => Promise.all(list.map(([ch, t]) => new Promise((resolve) => {
    const push = window.demo.push;
    const answer = { subscribe: null, history: null };
    const settle = (what, value) => {
      answer[what] = value;
      if (answer.subscribe && answer.history) resolve(answer);
    };
    window.setTimeout(() => resolve(answer), 30000);
    push.subscribe({ channel: ch, token: t, onMessage: () => {},
      onSuccess: () => settle('subscribe', 200),
      onFailed: (e) => settle('subscribe', `${e.code} ${e.content}`) });
    push.history({ channel: ch, token: t, onSuccess: () => settle('history', 200),
      onFailed: (e) => settle('history', `${e.code} ${e.content}`) });
  }))), uses);
  const bad = await tokenUse(badTokens.map(([, ch, tok]) => [ch, tok]));
  badTokens.forEach(([what, ch], i) => {
    ok(/^403 /.test(bad[i].subscribe) && /^403 /.test(bad[i].history),
      `${transport}: push.js subscribing to ${ch} and reading its history with ${what} token: 403`, bad[i]);
  });
  const [good] = await tokenUse([['user-alice', jwt({ sub: 'alice', exp })]]);
  ok(good.subscribe === 200 && good.history === 200,
    `${transport}: and user-alice with alice's own token: subscribed, history`, good);
  await a.evaluate(() => window.demo.push.unsubscribe('user-alice'));

  // Channels added one after another: each restarts the held poll, and a JSONP page cannot
  // cancel the one it leaves (push-poll answers it when the client's next poll comes), so the
  // browser's six connections a host are not used up: eight in a row, then a message on the
  // first, all within 15 s.
  const started = Date.now();
  const oneByOne = await a.evaluate(async (prefix) => {
    const push = window.demo.push;
    const results = [];
    for (let i = 0; i < 8; i++) {
      results.push(await new Promise((resolve) => {
        window.setTimeout(() => resolve('timeout'), 30000);
        push.subscribe({ channel: `${prefix}-${i}`, onMessage: (m) => { window.oneByOneGot = m.content; },
          onSuccess: () => resolve(200), onFailed: (e) => resolve(`${e.code} ${e.content}`) });
      }));
    }
    return results;
  }, `row-${transport}`);
  await curlPublish(`row-${transport}-0`, 'after eight');
  const rowGot = await until('the message on the first of eight', async () =>
    (await a.evaluate(() => window.oneByOneGot)) === 'after eight', 30000).catch(() => false);
  const rowSeconds = (Date.now() - started) / 1000;
  ok(oneByOne.every((r) => r === 200) && rowGot && rowSeconds < 15,
    `${transport}: eight channels subscribed one after another, then a message on the first: within 15 s`,
    { oneByOne, rowGot, rowSeconds });
  await a.evaluate((prefix) => { for (let i = 0; i < 8; i++) window.demo.push.unsubscribe(`${prefix}-${i}`); },
    `row-${transport}`);

  // History on load: a third page lists the last messages before any live one.
  const c = await openDemo(`transports=${transport}&user=carol&channel=${channel}`);
  await waitReady(c, transport);
  await until('history in page C', async () => (await c.locator('#messages li[data-source="history"]').count()) >= 2, 10000)
    .catch(() => {});
  ok(await c.locator(`#messages li[data-source="history"][data-seq="${seq1}"]`).count() === 1,
    `${transport}: a page that joins later lists earlier messages from history`);
  // Presence is written in batches: the page refreshes it until all three are counted.
  const counted = (text) => {
    const m = /(\d+) tabs? . (\d+) (person|people)/.exec(text || '');
    return m && Number(m[1]) >= 3 && Number(m[2]) >= 3;
  };
  const presence = await until('presence', async () => {
    const text = await c.textContent('#presence');
    return counted(text) && text;
  }, 15000).catch(() => null);
  ok(!!presence, `${transport}: presence counts the three pages and users`, await c.textContent('#presence'));
  await c.context().close();

  // Kill the component that carries this transport mid-stream.
  let interrupt;
  let what;
  if (transport === 'websocket') {
    what = 'the sidecar is killed and restarted';
    interrupt = async () => { await killSidecar(); await sleep(1000); await startSidecar(); };
  } else {
    what = 'push-poll is killed and respawned by lighttpd';
    interrupt = async () => {
      const pid = pollPid();
      if (!pid) throw new Error('no push-poll child of lighttpd');
      process.kill(pid, 'SIGKILL');
      await until('a new push-poll', () => { const p = pollPid(); return p && p !== pid; }, 15000)
        .catch(() => diag('push-poll not respawned yet (lighttpd starts it on the next request)'));
    };
  }
  const before = (await received(a)).length;
  const published = await publishStream(channel, `stream ${transport}`, 40, 50, 10, interrupt);
  const last = published[published.length - 1].seq;
  await waitForSeq(a, last, 45000).catch((e) => diag(e.message));
  await waitForSeq(b, last, 45000).catch((e) => diag(e.message));
  for (const [name, page] of [['A', a], ['B', b]]) {
    list = await received(page);
    const result = compare(list, published);
    ok(result.missing.length === 0 && result.dups.length === 0 && !result.gap,
      `${transport}: ${what}; page ${name} gets all 40 messages once, in order`,
      { missing: result.missing.map((p) => p.seq), dups: result.dups, gap: result.gap });
  }
  ok((await received(a)).length === before + 40, `${transport}: nothing else arrived in page A`);
  ok(await a.evaluate(() => window.demo.push.transport) === transport, `${transport}: still on ${transport}`);

  await sleep(600);   // let the toasts finish sliding in
  await a.screenshot({ path: path.join(ARTIFACTS, `demo-${transport}.png`) });
  await a.context().close();
  await b.context().close();
}

// ---- default order, fallback and return ----

async function fallbackSuite() {
  if (!HAVE_WS) {
    skip('default order picks websocket; falls back to long-poll and returns', 'ws/push-ws is not built yet');
    return;
  }
  const channel = 'room-fallback';
  const page = await openDemo(`user=dora&channel=${channel}`);
  if (!ok(await isReady(page, 'websocket'), 'default transports: the page picks websocket')) return;

  // A second connection on the same page with short timers, to see the return to WebSocket.
  await page.evaluate((ch) => {
    window.fallback = { received: [], transports: [] };
    window.fallback.push = window.Push.connect({
      appkey: window.PUSH_DEMO.appkey, wsOpenTimeout: 1500, wsRetry: 3000, backoff: 200, backoffMax: 1000,
      onConnected: (info) => window.fallback.transports.push(info.transport),
    });
    window.fallback.push.subscribe({ channel: ch, onSuccess: () => { window.fallback.subscribed = true; },
      onMessage: (m) => window.fallback.received.push({ seq: m.seq, content: m.content }) });
  }, channel);
  // "From now" is where the server confirms the subscription: wait for it before the kill.
  await until('the second connection', () => page.evaluate(() => window.fallback.push.transport === 'websocket' &&
    window.fallback.push.state === 'connected' && window.fallback.subscribed === true), 10000);
  const fb = () => page.evaluate(() => window.fallback.received);

  await killSidecar();
  const during = [];
  for (let i = 0; i < 5; i++) during.push({ seq: await curlPublish(channel, `while down ${i}`), content: `while down ${i}` });
  const fellBack = await until('a fall back to xhr', () => page.evaluate(() => window.fallback.push.transport === 'xhr' &&
    window.fallback.push.state === 'connected'), 20000).catch(() => false);
  ok(fellBack, 'with the sidecar down, push.js falls back to xhr long-poll by itself');
  await until('the messages sent while down', async () => {
    const l = await fb();
    return l.length && l[l.length - 1].seq >= during[during.length - 1].seq;
  }, 15000).catch(() => {});
  let result = compare(await fb(), during);
  ok(result.missing.length === 0 && !result.dups.length && !result.gap,
    'messages published while the sidecar is down arrive over long-poll, once, in order', result);

  await startSidecar();
  const back = await until('the return to websocket', () => page.evaluate(() => window.fallback.push.transport === 'websocket' &&
    window.fallback.push.state === 'connected'), 20000).catch(() => false);
  ok(back, 'when the sidecar is back, push.js returns to websocket by itself');
  const after = [];
  for (let i = 0; i < 5; i++) after.push({ seq: await curlPublish(channel, `after ${i}`), content: `after ${i}` });
  await until('the messages sent after', async () => {
    const l = await fb();
    return l.length && l[l.length - 1].seq >= after[after.length - 1].seq;
  }, 15000).catch(() => {});
  result = compare(await fb(), during.concat(after));
  ok(result.missing.length === 0 && !result.dups.length && !result.gap,
    'across both switches every message arrives once, in order', result);
  diag(`transports seen: ${(await page.evaluate(() => window.fallback.transports)).join(' -> ')}`);
  await sleep(600);
  await page.screenshot({ path: path.join(ARTIFACTS, 'demo.png') });
  await page.context().close();
}

// ---- cross-origin pages: CORS XHR, JSONP script tags, WebSocket to another origin ----

async function crossOriginSuite() {
  for (const transport of ['xhr', 'jsonp', 'websocket']) {
    if (transport === 'websocket' && !HAVE_WS) {
      skip('cross-origin websocket', 'ws/push-ws is not built yet');
      continue;
    }
    const channel = `cross-${transport}`;
    const page = await openDemo(`transports=${transport}&user=erin&channel=${channel}&host=${encodeURIComponent(BASE)}`,
      CROSS_BASE);
    const ready = await isReady(page, transport);
    ok(ready, `cross-origin ${transport}: a page on ${CROSS_BASE} subscribes through ${BASE}`);
    if (ready) {
      const seq = await curlPublish(channel, `cross ${transport}`);
      await waitForSeq(page, seq, 15000).catch(() => {});
      ok((await received(page)).some((m) => m.seq === seq), `cross-origin ${transport}: a publish arrives`);
      await page.fill('#message', `cross page ${transport}`);
      await page.click('#send-button');
      const mine = await until('its own message', async () => (await received(page))
        .find((m) => m.content.indexOf(`cross page ${transport}`) >= 0), 15000).catch(() => null);
      ok(!!mine, `cross-origin ${transport}: the page publishes and receives its message`);
    }
    await page.context().close();
  }
}

async function main() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
  diag(`Chromium ${browser.version()}, stack at ${BASE}`);
  await runSuites(browser, [() => transportSuite('websocket'), () => transportSuite('xhr'),
    () => transportSuite('jsonp'), fallbackSuite, crossOriginSuite], pageErrors);
}

main().catch((e) => {
  ok(false, `browser test: ${e.message}`);
  diag(e.stack);
  done(true);
});
