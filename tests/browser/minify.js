// tests/browser/minify.js: builds www/push.min.js from www/push.js with the pinned terser.
//   node tests/browser/minify.js          writes www/push.min.js
//   node tests/browser/minify.js --check  exits 1 when the committed copy is stale
// The options keep the output ES3 (IE6-8 parse it): reserved words stay quoted.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { minify } = require('terser');

const root = path.resolve(__dirname, '..', '..');
const source = path.join(root, 'www', 'push.js');
const target = path.join(root, 'www', 'push.min.js');

async function build() {
  const code = fs.readFileSync(source, 'utf8');
  const version = /var VERSION = "([^"]+)"/.exec(code)[1];
  const result = await minify(code, {
    ie8: true,
    ecma: 5,
    compress: { passes: 2 },
    mangle: true,
    format: {
      ascii_only: true,
      preamble: `/* push.js ${version} | minified www/push.js, rebuild with: npm run minify */`,
    },
  });
  return result.code + '\n';
}

async function main() {
  const code = await build();
  if (process.argv.includes('--check')) {
    const committed = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
    if (committed !== code) {
      console.error('www/push.min.js is stale: run npm run minify');
      process.exit(1);
    }
    return;
  }
  fs.writeFileSync(target, code);
  const raw = Buffer.byteLength(code);
  const gz = zlib.gzipSync(code, { level: 9 }).length;
  console.log(`www/push.min.js: ${raw} bytes, ${gz} bytes gzipped`);
}

module.exports = { build };
if (require.main === module) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
