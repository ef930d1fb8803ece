# tests/local.mk: the test suite.
