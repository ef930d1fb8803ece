# ws/local.mk: build rules for ws/.
