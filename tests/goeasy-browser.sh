#!/usr/bin/env bash
# tests/goeasy-browser.sh: goeasy.js (both GoEasy API forms) in headless Chromium against the
# whole stack; the stack is tests/browser.sh's, the pages are tests/browser/goeasy.test.js's.
PUSH_BROWSER_TEST=goeasy.test.js
. "$(dirname "$0")/browser.sh"
