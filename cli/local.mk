# cli/local.mk: pushctl, the operator's tool.
bin_PROGRAMS += cli/pushctl
cli_pushctl_SOURCES = cli/pushctl.c
cli_pushctl_LDADD = $(PUSH_LIBS)
