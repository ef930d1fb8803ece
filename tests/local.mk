# tests/local.mk: the test suite (automake TAP). Add lines; never rewrite this file wholesale.
EXTRA_DIST += tests/lib.sh tests/run-sql.sh tests/run-node.sh

# Unit tests (C, TAP through tests/tap.h).

# SQL tests (pgTAP files run against a freshly migrated database).

# Integration tests (shell, real servers on free ports).
