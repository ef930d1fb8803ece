/* validate.h: the rules for names and text that come from clients. */
#ifndef PUSH_VALIDATE_H
#define PUSH_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#define VALIDATE_CHANNEL_MAX 128
#define VALIDATE_USER_MAX 64
#define VALIDATE_CALLBACK_MAX 64
#define VALIDATE_MSGID_MAX 64

/* Names in any script: well-formed UTF-8; of ASCII only letters, digits and the punctuation
 * below (never the cursor's ',' and ':'); above ASCII anything but controls, separators,
 * invisible format characters and noncharacters; and in Unicode Normalization Form C, as
 * PostgreSQL wants them (sql/migrations/011_goeasy.sql). These checks do not normalize. */
#define VALIDATE_CHANNEL_RULE "1-128 bytes of letters, digits and _.=@/- (UTF-8)"
#define VALIDATE_USER_RULE "1-64 bytes of letters, digits and _.=@- (UTF-8)"

/* What a name that holds to the rule above but is not NFC is told. */
#define VALIDATE_NFC_RULE "not in Unicode NFC (normalize it first)"

/* A channel name: VALIDATE_CHANNEL_RULE, in NFC. */
bool validate_channel(const char *name);
/* A user id or client id: VALIDATE_USER_RULE, in NFC. */
bool validate_user(const char *id);
/* Why name is no channel name: NULL if it is one, VALIDATE_NFC_RULE if it is one but for NFC,
 * else "must be " VALIDATE_CHANNEL_RULE (static strings). */
const char *validate_channel_error(const char *name);
/* Why id is no user id: NULL, VALIDATE_NFC_RULE or "must be " VALIDATE_USER_RULE. */
const char *validate_user_error(const char *id);
/* Well-formed UTF-8 text (validate_utf8) in Unicode NFC; ASCII is NFC without a look-up. */
bool validate_nfc(const char *text, size_t len);
/* A publisher's message id (idempotent publishing; push.msgid_valid in SQL). */
#define VALIDATE_MSGID_RULE "1-64 characters of printable ASCII without spaces"
bool validate_msgid(const char *id);
/* ^[A-Za-z_$][A-Za-z0-9_$.]{0,63}$ */
bool validate_callback(const char *name);
/* Well-formed UTF-8 without NUL: no overlong forms, surrogates or code points above U+10FFFF. */
bool validate_utf8(const char *text, size_t len);
/* A decimal integer in [min, max] with nothing else; stores it in out. */
bool validate_int(const char *text, long long min, long long max, long long *out);

/* "private-*" and "user-*" channels need a subscribe token, and so do their presence event
 * channels "presence-private-*" and "presence-user-*" (a token must name those itself), and
 * a user's read events "read-user-<id>". */
bool validate_channel_needs_token(const char *channel);
/* For "user-<id>" channels returns <id> (borrowed from channel), else NULL. */
const char *validate_channel_user(const char *channel);
/* For "read-user-<id>", the channel of user <id>'s read events (sql/migrations/014), returns
 * "user-<id>" (borrowed from channel): whoever may read that channel may read these events.
 * Else NULL. */
const char *validate_channel_read_events(const char *channel);

#endif
