// tests/tap.js: TAP output for the node tests: ok, is, skip, diag, done.
'use strict';

let count = 0;
let failed = 0;

function diag(text) {
  for (const line of String(text).split('\n')) console.log(`# ${line}`);
}

// Passes when cond is truthy; on failure prints detail (a string, or JSON of anything else).
function ok(cond, name, detail) {
  count++;
  console.log(`${cond ? 'ok' : 'not ok'} ${count} - ${name}`);
  if (!cond) {
    failed++;
    if (detail !== undefined && detail !== '') diag(typeof detail === 'string' ? detail : JSON.stringify(detail));
  }
  return cond;
}

// Compares as JSON.
function is(got, expected, name) {
  const a = JSON.stringify(got);
  const b = JSON.stringify(expected);
  return ok(a === b, name, a === b ? undefined : { got, expected });
}

function skip(name, reason) {
  count++;
  console.log(`ok ${count} - ${name} # SKIP ${reason}`);
}

// Prints the plan and exits: 1 when anything failed (or when failure is forced).
function done(forceFailure) {
  console.log(`1..${count}`);
  process.exit(failed || forceFailure ? 1 : 0);
}

module.exports = { ok, is, skip, diag, done };
