# cli/local.mk: build rules for cli/.
