/* auth.h: key hashing and subscribe tokens (HMAC and JWT), compared in constant time.
 *
 * token = hex(HMAC-SHA256(app secret, "<channel>:<expires>")) + ":" + expires
 *      or hex(HMAC-SHA256(app secret, "<channel>:<expires>:<user>")) + ":" + expires
 *      or a JWT (RFC 7519, HS256 only, signed with the app secret) with the claims
 *         exp (required), iat (when issued; seconds, fractions kept to the millisecond), sub,
 *         channels, publish (arrays of names or "prefix*"), info (object)
 * expires is a Unix time in seconds; the secret is used as its text (the hex string). */
#ifndef PUSH_AUTH_H
#define PUSH_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_HASH_HEX 65   /* 64 hex digits + NUL */
#define AUTH_TOKEN_MAX 96  /* 64 hex + ':' + up to 20 digits + NUL */
#define AUTH_JWT_MAX 4096      /* longest JWT accepted, in bytes */
#define AUTH_JWT_INFO_MAX 1024 /* longest serialized info claim */

enum auth_result {
    AUTH_OK = 0,
    AUTH_MISSING,   /* no token given */
    AUTH_MALFORMED, /* not "<64 hex>:<expires>" */
    AUTH_EXPIRED,
    AUTH_MISMATCH,  /* signature does not match channel/user/expires */
    AUTH_TOO_LONG,  /* longer than AUTH_JWT_MAX */
    AUTH_JWT_MALFORMED,  /* a JWT part is not base64url, or header/claims not a JSON object */
    AUTH_JWT_ALGORITHM,  /* header alg is not exactly HS256 */
    AUTH_JWT_SIGNATURE,  /* HMAC does not match */
    AUTH_JWT_NO_EXPIRY,  /* exp missing or not a number */
    AUTH_JWT_CLAIMS,     /* sub, channels, publish or info of the wrong type */
    AUTH_JWT_INFO_SIZE,  /* info over AUTH_JWT_INFO_MAX serialized */
    AUTH_JWT_USER,       /* sub differs from the user the request names */
    AUTH_JWT_CHANNEL,    /* the channel is not in channels (or user-<id> and sub is not <id>) */
    AUTH_JWT_PUBLISH,    /* publishing: the channel is not in publish (or not a JWT) */
    AUTH_ROLE,           /* the key's role does not allow it at all (the subscribe key publishing) */
    AUTH_REVOKED,        /* issued before its user was kicked (app.h, kick.h) */
};

/* What a verified JWT grants. */
struct auth_claims {
    char *sub;         /* owned; NULL when absent */
    int64_t exp;
    int64_t iat_ms;    /* iat in Unix milliseconds; 0 when absent */
    char **channels;   /* owned, nchannels entries: names or prefixes ending in '*' */
    size_t nchannels;
    char **publish;    /* owned, npublish entries, same form */
    size_t npublish;
    char *info;        /* owned serialized JSON object, NULL when absent */
};

#define AUTH_PRESENCE_ID 35 /* "c-" + 32 hex digits + NUL */

/* The presence id of a client id a client chose, bound to its user (NULL: anonymous) with
 * the app secret: "c-" and 128 bits of HMAC. Another user naming the same client id gets
 * another presence id, so nobody can replace or remove someone else's presence. */
void auth_presence_id(const char *secret, const char *client, const char *user, char out[AUTH_PRESENCE_ID]);

/* Writes the lowercase hex SHA-256 of key into out[AUTH_HASH_HEX]. */
void auth_key_hash(const char *key, char out[AUTH_HASH_HEX]);

/* Makes a token; user may be NULL. Returns 0, or -1 when it does not fit in outlen. */
int auth_token_make(const char *secret, const char *channel, int64_t expires, const char *user,
                    char *out, size_t outlen) __attribute__((warn_unused_result));

/* Checks a token for channel at time now; a token with two dots is a JWT (see
 * auth_claims_allow). For "user-<id>" channels the token must be made for user <id>; for
 * others user is the connecting user or NULL. */
enum auth_result auth_token_verify(const char *secret, const char *channel, const char *user,
                                   const char *token, int64_t now);

/* Checks channel against each of tokens (NULL and empty entries are skipped): AUTH_OK when
 * one matches, else the most telling failure (an expired token over the others). */
enum auth_result auth_tokens_verify(const char *secret, const char *channel, const char *user,
                                    const char *const *tokens, size_t ntokens, int64_t now);

/* Decodes and verifies a JWT: length, then the header's alg, then the signature (constant
 * time), then the claims, then exp against now. On AUTH_OK fills claims (free with
 * auth_claims_free); on any other result claims is left empty. */
enum auth_result auth_jwt_decode(const char *secret, const char *token, int64_t now,
                                 struct auth_claims *claims) __attribute__((warn_unused_result));
/* Frees what claims owns; a zeroed struct is a no-op. */
void auth_claims_free(struct auth_claims *claims);

/* Whether claims open channel for user (NULL: none named): AUTH_JWT_USER when sub and user
 * differ, AUTH_JWT_CHANNEL when the channel is not covered, else AUTH_OK. */
enum auth_result auth_claims_allow(const struct auth_claims *claims, const char *channel,
                                   const char *user);

/* Whether claims let their holder publish to channel: AUTH_JWT_USER when sub and user differ,
 * AUTH_JWT_PUBLISH when no publish entry names it (user-<id> channels too: a page may send to
 * another user's channel only when its token says so), else AUTH_OK. */
enum auth_result auth_claims_allow_publish(const struct auth_claims *claims, const char *channel,
                                           const char *user);

/* auth_tokens_verify for publishing: only a JWT whose publish claim covers channel opens it. */
enum auth_result auth_tokens_verify_publish(const char *secret, const char *channel, const char *user,
                                            const char *const *tokens, size_t ntokens, int64_t now);

/* The user the tokens speak for: the sub of the valid JWTs among them (others are skipped).
 * AUTH_OK with out set, AUTH_MISSING (out "") when none names one, AUTH_JWT_USER when two
 * name different users. The connection's user is this, never a parameter that disagrees.
 * With info, *info is set to a copy of the first such token's info claim (the caller frees
 * it), or NULL. */
enum auth_result auth_tokens_subject(const char *secret, const char *const *tokens, size_t ntokens, int64_t now,
                                     char *out, size_t outlen, char **info);

/* Makes a JWT; sub and info (a serialized JSON object) may be NULL; issued_ms > 0 adds iat
 * (Unix milliseconds, written as seconds with three decimals). Returns a malloc'd string the
 * caller frees, or NULL (info not an object or too large, token too long). */
char *auth_jwt_make(const char *secret, const char *sub, const char *const *channels,
                    size_t nchannels, const char *const *publish, size_t npublish,
                    int64_t expires, int64_t issued_ms, const char *info) __attribute__((warn_unused_result));

/* Text for an error reply ("token: expired", ...). */
const char *auth_result_text(enum auth_result result);

/* Constant-time comparison of two strings of possibly different lengths. */
bool auth_equal(const char *a, const char *b);

#endif
