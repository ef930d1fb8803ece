// tests/browser/notes.test.js: the demo page's notifications tab in Debian's Chromium against
// the stack tests/browser.sh started, with the demo's server side (scripts/demo-server.py:
// JWTs and notifications) started here. Two pages of one user: notifications sent through
// the server side reach both with an unread badge; clicking one in page A marks it read, and
// page B's badge and flag follow (the read event of read-user-<id>), while a page of another
// user hears nothing. On WebSocket in both pages, on XHR long-poll in both, and with page B on
// JSONP (a JSONP page cannot POST a read itself). Prints TAP.
//
// Each page holds the publish key and a JWT of its own user only, never the server key or secret.
//
// Environment (from tests/browser.sh): BASE, PUBLISH_KEY, SECRET, SERVER_KEY, CHROMIUM, PUSH_ARTIFACTS,
// PUSH_WS_BIN.
'use strict';
const fs = require('fs');
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');
const { until, launchChromium, runSuites } = require('./stack.js');
const { ok, is, skip, diag } = require('../tap.js');

const env = process.env;
const BASE = env.BASE;
const ARTIFACTS = env.PUSH_ARTIFACTS || path.join(__dirname, '..', 'artifacts');
const HAVE_WS = fs.existsSync(env.PUSH_WS_BIN || '');

let browser;
let server;          // the demo server's base URL
const pageErrors = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function startDemoServer() {
  const port = await freePort();
  const child = spawn('python3', [path.join(__dirname, '..', '..', 'scripts', 'demo-server.py')], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: Object.assign({}, env, { PUSH_APP_SECRET: env.SECRET, PUSH_SERVER_KEY: env.SERVER_KEY, PUSH_URL: BASE,
      PUSH_DEMO_PORT: String(port), PUSH_DEMO_TTL: '600' }),
  });
  process.on('exit', () => child.kill());
  server = `http://127.0.0.1:${port}`;
  await until('the demo server to answer', () => fetch(`${server}/demo/token?user=probe`).then((r) => r.ok, () => false), 10000);
}

async function notify(user, text) {
  const r = await fetch(`${server}/demo/notify`, { method: 'POST', body: new URLSearchParams({ user, text }) });
  return r.json();
}

async function openNotes(user, transport) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 760 } });
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${user} ${transport}: ${error.message}`));
  const query = new URLSearchParams({ user, tab: 'notes', transports: transport, server });
  await page.goto(`${BASE}/demo.html?${query}`);
  return page;
}

const notesReady = (page, transport) => until(`the notifications of the page via ${transport}`, () => page.evaluate(
  (t) => !!(window.demo && window.demo.notes.ready && window.demo.push && window.demo.push.transport === t &&
    window.demo.push.state === 'connected'), transport), 30000).then(() => true, (e) => { diag(e.message); return false; });

// What the page shows: its badge, and each notification's seq and read flag, newest first.
const shown = (page) => page.evaluate(() => ({
  badge: document.getElementById('badge').textContent,
  notes: Array.prototype.map.call(document.querySelectorAll('#notes li'),
    (li) => `${li.getAttribute('data-seq')}:${li.getAttribute('data-read')}`).join(' '),
}));

// Waits until the page shows want (or the timeout), then returns what it shows.
async function waitShown(page, want, timeout = 30000) {
  try {
    await until(`the page to show ${JSON.stringify(want)}`, async () => JSON.stringify(await shown(page)) === JSON.stringify(want), timeout);
  } catch (e) {
    diag(e.message);
  }
  return shown(page);
}

// What a demo page holds: the publish key, and a short-lived JWT from the demo's server side that
// opens its own user's channel and no other; neither the server key nor the secret is in the
// page, its scripts or what the server side answered it.
async function pageHolds(page, user, other) {
  const held = await page.evaluate(async () => {
    const texts = [document.documentElement.outerHTML];
    for (const entry of performance.getEntriesByType('resource')) {
      if (/\.js(\?|$)|\/demo\/token/.test(entry.name)) texts.push(await fetch(entry.name).then((r) => r.text(), () => ''));
    }
    return { appkey: window.demo.push.appkey, token: window.demo.push.token, texts };
  });
  ok(held.appkey === env.PUBLISH_KEY, `${user}: the page holds the publish key`, held.appkey);
  const leaked = held.texts.filter((t) => t.includes(env.SERVER_KEY) || t.includes(env.SECRET)).length;
  ok(held.texts.length >= 4 && leaked === 0,
    `${user}: the server key and the secret are nowhere in the page, its scripts or its token reply`,
    { fetched: held.texts.length, leaked });
  const claims = JSON.parse(Buffer.from(String(held.token).split('.')[1] || '', 'base64url').toString() || '{}');
  const life = claims.exp - Date.now() / 1000;
  ok(claims.sub === user && life > 0 && life <= 600, `${user}: its token is a JWT for ${user} that ends within 600 s`, claims);
  const history = async (channel) => (await fetch(`${BASE}/push/history?${new URLSearchParams({
    appkey: held.appkey, channel, token: held.token })}`)).status;
  is([await history(`user-${user}`), await history(`user-${other}`)], [200, 403],
    `${user}: with them the page reads user-${user} (200) and not user-${other} (403)`);
}

async function suite(label, transportA, transportB) {
  const user = `ann-${label}`;
  const a = await openNotes(user, transportA);
  const b = await openNotes(user, transportB);
  const other = await openNotes(`bea-${label}`, transportB);
  ok(await notesReady(a, transportA) && await notesReady(b, transportB) && await notesReady(other, transportB),
    `${label}: pages A (${transportA}) and B (${transportB}) of ${user}, and one of another user, load their notifications`);
  await pageHolds(a, user, `bea-${label}`);
  for (const text of ['first', 'second', 'third']) {
    const r = await notify(user, `${text} for ${user}`);
    if (r.code !== 200) diag(JSON.stringify(r));
  }
  const three = { badge: '3', notes: '3:false 2:false 1:false' };
  is(await waitShown(a, three), three, `${label}: three notifications from the server side reach page A, badge 3`);
  is(await waitShown(b, three), three, `${label}: and page B`);

  await a.click('#notes li[data-seq="2"]');
  const afterA = { badge: '2', notes: '3:false 2:true 1:false' };
  is(await waitShown(a, afterA), afterA, `${label}: clicking notification 2 in page A marks it read there`);
  is(await waitShown(b, afterA), afterA, `${label}: page B's badge and flag follow (read event via ${transportB})`);
  await b.screenshot({ path: path.join(ARTIFACTS, `notes-${label}.png`) });

  const quiet = await other.evaluate(() => ({ reads: window.demo.notes.reads.length, badge: document.getElementById('badge').textContent }));
  is(quiet, { reads: 0, badge: '0' }, `${label}: the other user's page got no read event and no notification`);
  for (const page of [a, b, other]) await page.context().close();
}

async function main() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
  await startDemoServer();
  const suites = [];
  if (HAVE_WS) suites.push(() => suite('ws', 'websocket', 'websocket'));
  else skip('websocket pages', 'ws/push-ws not built');
  suites.push(() => suite('xhr', 'xhr', 'xhr'), () => suite('jsonp', 'xhr', 'jsonp'));
  await runSuites(browser, suites, pageErrors);
}

main().catch((e) => {
  ok(false, `the test ran: ${e.message}`);
  diag(e.stack);
  require('../tap.js').done(true);
});
