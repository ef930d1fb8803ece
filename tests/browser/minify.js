// tests/browser/minify.js: builds the minified browser files with the pinned terser:
// www/push.min.js from www/push.js, and www/goeasy.min.js from push.js and goeasy.js (the one
// file a GoEasy page loads).
//   node tests/browser/minify.js          writes both
//   node tests/browser/minify.js --check  exits 1 when a committed copy is stale
// The options keep the output ES3 (IE6-8 parse it): reserved words stay quoted.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { minify } = require('terser');

const root = path.resolve(__dirname, '..', '..');
const www = (name) => path.join(root, 'www', name);

const TARGETS = {
  'push.min.js': { sources: ['push.js'], title: 'push.js', what: 'www/push.js' },
  'goeasy.min.js': { sources: ['push.js', 'goeasy.js'], title: 'goeasy.js', what: 'www/push.js and www/goeasy.js' },
};

// The minified text of target (a key of TARGETS).
async function build(target = 'push.min.js') {
  const { sources, title, what } = TARGETS[target];
  const code = sources.map((name) => fs.readFileSync(www(name), 'utf8')).join('\n');
  const version = /var VERSION = "([^"]+)"/.exec(code)[1];
  const result = await minify(code, {
    ie8: true,
    ecma: 5,
    compress: { passes: 2 },
    mangle: true,
    format: {
      ascii_only: true,
      preamble: `/* ${title} ${version} | minified ${what}, rebuild with: npm run minify */`,
    },
  });
  return result.code + '\n';
}

async function main() {
  for (const target of Object.keys(TARGETS)) {
    const code = await build(target);
    if (process.argv.includes('--check')) {
      const committed = fs.existsSync(www(target)) ? fs.readFileSync(www(target), 'utf8') : '';
      if (committed !== code) {
        console.error(`www/${target} is stale: run npm run minify`);
        process.exitCode = 1;
      }
      continue;
    }
    fs.writeFileSync(www(target), code);
    const raw = Buffer.byteLength(code);
    const gz = zlib.gzipSync(code, { level: 9 }).length;
    console.log(`www/${target}: ${raw} bytes, ${gz} bytes gzipped`);
  }
}

module.exports = { build, TARGETS };
if (require.main === module) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
