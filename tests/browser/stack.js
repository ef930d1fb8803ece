// tests/browser/stack.js: what the Chromium tests share: waiting for a condition, publishing
// and minting tokens as a backend does (curl against the stack tests/browser.sh started),
// launching Debian's Chromium through playwright-core.
'use strict';
const crypto = require('crypto');
const { execFile } = require('child_process');
const { chromium } = require('playwright-core');
const { ok, diag, done } = require('../tap.js');

const env = process.env;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Resolves to fn()'s first truthy value, asking every 100 ms; rejects after timeout ms.
async function until(what, fn, timeout = 20000) {
  const start = Date.now();
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() - start > timeout) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(100);
  }
}

// POST /push/publish with curl and the publish key (env BASE, PUBLISH_KEY). Resolves to the
// reply's seq.
function curlPublish(channel, content) {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--max-time', '10', '--data-urlencode', `appkey=${env.PUBLISH_KEY}`,
      '--data-urlencode', `channel=${channel}`, '--data-urlencode', `content=${content}`, `${env.BASE}/push/publish`],
    (error, stdout) => {
      if (error) return reject(error);
      let reply;
      try { reply = JSON.parse(stdout); } catch (e) { return reject(new Error(`publish: not JSON: ${stdout}`)); }
      if (reply.code !== 200) return reject(new Error(`publish: ${stdout}`));
      resolve(reply.seq);
    });
  });
}

// A JWT signed with the app's secret (env SECRET), as the app's backend makes it; alg and
// secret may be wrong on purpose (alg 'none' leaves the signature empty).
function jwt(claims, alg = 'HS256', secret = env.SECRET) {
  const b64 = (text) => Buffer.from(text).toString('base64url');
  const signed = `${b64(JSON.stringify({ alg, typ: 'JWT' }))}.${b64(JSON.stringify(claims))}`;
  const sig = alg === 'none' ? ''
    : crypto.createHmac(alg === 'HS512' ? 'sha512' : 'sha256', secret).update(signed).digest('base64url');
  return `${signed}.${sig}`;
}

// Debian's Chromium (env CHROMIUM), headless, never a downloaded browser.
function launchChromium() {
  return chromium.launch({
    executablePath: env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// Runs the suites (async functions) in turn, a suite that throws counting as one failed
// check; then checks that no page had an uncaught error (pageErrors), closes the browser and
// prints the plan.
async function runSuites(browser, suites, pageErrors) {
  try {
    for (const suite of suites) {
      try {
        await suite();
      } catch (e) {
        ok(false, `suite ran to the end: ${e.message}`);
        diag(e.stack);
      }
    }
    ok(pageErrors.length === 0, 'no uncaught errors in any page', pageErrors);
  } finally {
    await browser.close();
  }
  done();
}

module.exports = { sleep, until, curlPublish, jwt, launchChromium, runSuites };
