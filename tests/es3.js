// tests/es3.js: the browser files parse as ES3 (IE6-8), the .min.js files are current, push.js
// and goeasy.js each define one global and the pages load nothing from another site. Prints TAP.
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');
const { execFileSync } = require('child_process');
const acorn = require('acorn');

const root = path.resolve(__dirname, '..');
const www = (name) => path.join(root, 'www', name);
const { ok, done } = require('./tap.js');

const scripts = ['push.js', 'push.min.js', 'goeasy.js', 'goeasy.min.js', 'demo.js'];

async function main() {
  const esCheck = path.join(root, 'node_modules', '.bin', 'es-check');
  for (const name of scripts) {
    let output = '';
    let status = 0;
    try {
      output = execFileSync(esCheck, ['es3', www(name)], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      status = e.status;
      output = `${e.stdout}${e.stderr}`;
    }
    ok(status === 0, `es-check es3 www/${name}`, output);
  }

  // es-check leaves keywords as property names (o.default, {class: 1}) to acorn's lenient
  // ES3 mode; IE8's parser rejects them, and so does "never".
  for (const name of scripts) {
    let error = null;
    try {
      acorn.parse(fs.readFileSync(www(name), 'utf8'), { ecmaVersion: 3, allowReserved: 'never' });
    } catch (e) {
      error = e.message;
    }
    ok(error === null, `www/${name} uses no reserved word as a property name`, error);
  }

  const { build, TARGETS } = require('./browser/minify.js');
  for (const target of Object.keys(TARGETS)) {
    const fresh = await build(target);
    ok(fs.readFileSync(www(target), 'utf8') === fresh, `www/${target} is built from the current ${TARGETS[target].what}`,
      'stale: run npm run minify');
  }

  // One global, and it is usable without a DOM beyond document.createElement.
  const window = { location: { protocol: 'http:', host: 'example.test', search: '' },
    setTimeout, clearTimeout };
  const document = { createElement: () => ({}), readyState: 'complete' };
  window.window = window;
  window.document = document;
  const before = Object.keys(window).sort().join(',');
  vm.runInNewContext(fs.readFileSync(www('push.js'), 'utf8'), window, { filename: 'push.js' });
  const added = Object.keys(window).filter((k) => before.split(',').indexOf(k) < 0);
  ok(added.join(',') === 'Push', 'push.js defines one global, Push', `added: ${added.join(', ')}`);
  ok(typeof window.Push.connect === 'function' && /^\d+\.\d+\.\d+$/.test(window.Push.version),
    'Push.connect and Push.version exist');

  // goeasy.js after push.js adds one more global; goeasy.min.js alone brings both.
  const before2 = Object.keys(window);
  vm.runInNewContext(fs.readFileSync(www('goeasy.js'), 'utf8'), window, { filename: 'goeasy.js' });
  const added2 = Object.keys(window).filter((k) => before2.indexOf(k) < 0);
  ok(added2.join(',') === 'GoEasy', 'goeasy.js defines one global, GoEasy', `added: ${added2.join(', ')}`);
  ok(typeof window.GoEasy === 'function' && typeof window.GoEasy.getInstance === 'function',
    'GoEasy is a constructor with GoEasy.getInstance');
  const bare = { location: window.location, setTimeout, clearTimeout };
  bare.window = bare;
  bare.document = document;
  const before3 = Object.keys(bare);
  vm.runInNewContext(fs.readFileSync(www('goeasy.min.js'), 'utf8'), bare, { filename: 'goeasy.min.js' });
  const added3 = Object.keys(bare).filter((k) => before3.indexOf(k) < 0).sort();
  ok(added3.join(',') === 'GoEasy,Push', 'goeasy.min.js alone defines Push and GoEasy', `added: ${added3.join(', ')}`);

  // No external CDN: pages and styles load only from their own origin.
  const external = [];
  for (const name of fs.readdirSync(path.join(root, 'www'))) {
    if (!/\.(html|css|js)$/.test(name)) continue;
    const text = fs.readFileSync(www(name), 'utf8');
    const re = /(?:\b(?:src|href)\s*=\s*["']?|url\(\s*["']?|@import\s+["'])(?:https?:)?\/\//gi;
    if (re.test(text)) external.push(name);
  }
  ok(external.length === 0, 'www/ loads nothing from another site', external.join(', '));

  done();
}

main().catch((e) => {
  ok(false, e.stack);
  done(true);
});
