#!/usr/bin/env bash
# tests/notes-browser.sh: the demo page's notifications tab (two pages of one user keep their
# unread badge in step) in headless Chromium against the whole stack; the stack is
# tests/browser.sh's, the pages are tests/browser/notes.test.js's.
PUSH_BROWSER_TEST=notes.test.js
. "$(dirname "$0")/browser.sh"
