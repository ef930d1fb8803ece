# www/local.mk: build rules for www/.
