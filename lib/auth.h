/* auth.h: key hashing and HMAC subscribe tokens, compared in constant time.
 *
 * token = hex(HMAC-SHA256(app secret, "<channel>:<expires>")) + ":" + expires
 *      or hex(HMAC-SHA256(app secret, "<channel>:<expires>:<user>")) + ":" + expires
 * expires is a Unix time in seconds; the secret is used as its text (the hex string). */
#ifndef PUSH_AUTH_H
#define PUSH_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_HASH_HEX 65   /* 64 hex digits + NUL */
#define AUTH_TOKEN_MAX 96  /* 64 hex + ':' + up to 20 digits + NUL */

enum auth_result {
    AUTH_OK = 0,
    AUTH_MISSING,   /* no token given */
    AUTH_MALFORMED, /* not "<64 hex>:<expires>" */
    AUTH_EXPIRED,
    AUTH_MISMATCH,  /* signature does not match channel/user/expires */
};

/* Writes the lowercase hex SHA-256 of key into out[AUTH_HASH_HEX]. */
void auth_key_hash(const char *key, char out[AUTH_HASH_HEX]);

/* Makes a token; user may be NULL. Returns 0, or -1 when it does not fit in outlen. */
int auth_token_make(const char *secret, const char *channel, int64_t expires, const char *user,
                    char *out, size_t outlen) __attribute__((warn_unused_result));

/* Checks a token for channel at time now. For "user-<id>" channels the token must be made
 * for user <id>; for others user is the connecting user or NULL. */
enum auth_result auth_token_verify(const char *secret, const char *channel, const char *user,
                                   const char *token, int64_t now);

/* Checks channel against each of tokens (NULL and empty entries are skipped): AUTH_OK when
 * one matches, else the most telling failure (an expired token over the others). */
enum auth_result auth_tokens_verify(const char *secret, const char *channel, const char *user,
                                    const char *const *tokens, size_t ntokens, int64_t now);

/* Text for an error reply ("token: expired", ...). */
const char *auth_result_text(enum auth_result result);

/* Constant-time comparison of two strings of possibly different lengths. */
bool auth_equal(const char *a, const char *b);

#endif
