#!/bin/sh
# tests/run-node.sh: runs a .js test (the automake log compiler for .js) with node; the test
# prints TAP. Skips cleanly when node or the npm packages (npm ci at the top of the source
# tree) are missing.
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
if ! command -v node >/dev/null 2>&1; then
    echo "1..0 # SKIP node is not installed"
    exit 0
fi
if [ ! -d "$top_srcdir/node_modules" ]; then
    echo "1..0 # SKIP node_modules missing: run npm ci --no-audit --no-fund in $top_srcdir"
    exit 0
fi
exec node "$@"
