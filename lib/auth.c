/* auth.c: key hashing and subscribe tokens (HMAC and JWT), compared in constant time. */
#include "auth.h"
#include "buf.h"
#include "params.h"
#include "validate.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

static void hex_encode(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

void auth_key_hash(const char *key, char out[AUTH_HASH_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL);
    hex_encode(md, mdlen, out);
}

void auth_presence_id(const char *secret, const char *client, const char *user, char out[AUTH_PRESENCE_ID])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    struct buf data = BUF_INIT;
    buf_printf(&data, "presence\n%s\n%s", user ? user : "", client);
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)data.data, data.len, md, &mdlen))
        mdlen = 0;
    buf_free(&data);
    char hex[AUTH_HASH_HEX] = "";
    hex_encode(md, mdlen, hex);
    snprintf(out, AUTH_PRESENCE_ID, "c-%.32s", hex);
}

static int auth_sign(const char *secret, const char *channel, int64_t expires, const char *user,
                     char out[AUTH_HASH_HEX])
{
    char message[512];
    int n = user ? snprintf(message, sizeof(message), "%s:%" PRId64 ":%s", channel, expires, user)
                 : snprintf(message, sizeof(message), "%s:%" PRId64, channel, expires);
    if (n < 0 || (size_t)n >= sizeof(message))
        return -1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)message, (size_t)n,
              md, &mdlen))
        return -1;
    hex_encode(md, mdlen, out);
    return 0;
}

int auth_token_make(const char *secret, const char *channel, int64_t expires, const char *user,
                    char *out, size_t outlen)
{
    char sig[AUTH_HASH_HEX];
    if (auth_sign(secret, channel, expires, user, sig) < 0)
        return -1;
    int n = snprintf(out, outlen, "%s:%" PRId64, sig, expires);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static const char base64url_digits[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Appends base64url without padding. */
static void base64url_encode(struct buf *out, const unsigned char *in, size_t len)
{
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        size_t chars = len - i >= 3 ? 4 : len - i + 1;
        for (size_t k = 0; k < chars; k++)
            buf_append(out, &base64url_digits[(v >> (18 - 6 * k)) & 63], 1);
    }
}

/* Decodes len characters of unpadded base64url into out (at least len * 3 / 4 bytes).
 * Returns the number of bytes, or -1 on a character outside the alphabet, a bad length or
 * leftover bits that are not zero. */
static long base64url_decode(const char *in, size_t len, unsigned char *out)
{
    if (len % 4 == 1)
        return -1;
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        const char *d = in[i] ? strchr(base64url_digits, in[i]) : NULL;
        if (!d)
            return -1;
        acc = (acc << 6) | (uint32_t)(d - base64url_digits);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    /* Only the canonical spelling: the bits left over must be zero, so that no two strings
     * decode to the same signature. */
    if (acc & ((1u << bits) - 1))
        return -1;
    return (long)n;
}

/* Decodes one base64url part as a JSON object. Returns it (caller puts), or NULL. */
static struct json_object *jwt_part_json(const char *in, size_t len)
{
    unsigned char text[AUTH_JWT_MAX];
    long n = base64url_decode(in, len, text);
    if (n <= 0)
        return NULL;
    return params_json_object((const char *)text, (size_t)n, 0, false);
}

/* Copies an optional array of strings claim. Returns false when it is of another type. */
static bool jwt_string_array(struct json_object *claims, const char *name, char ***out, size_t *count)
{
    struct json_object *arr;
    if (!json_object_object_get_ex(claims, name, &arr))
        return true;
    if (!json_object_is_type(arr, json_type_array))
        return false;
    size_t n = json_object_array_length(arr);
    *out = xcalloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        struct json_object *item = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(item, json_type_string))
            return false;
        (*out)[(*count)++] = xstrdup(json_object_get_string(item));
    }
    return true;
}

/* iat in Unix milliseconds: a number of seconds (fractions kept to the millisecond). Returns
 * false when it is there but not a finite number. */
static bool jwt_read_iat(struct json_object *obj, int64_t *out)
{
    struct json_object *iat;
    *out = 0;
    if (!json_object_object_get_ex(obj, "iat", &iat))
        return true;
    if (json_object_is_type(iat, json_type_int)) {
        int64_t s = json_object_get_int64(iat);
        *out = s > INT64_MAX / 1000 ? INT64_MAX : s < INT64_MIN / 1000 ? INT64_MIN : s * 1000;
        return true;
    }
    if (!json_object_is_type(iat, json_type_double) || !isfinite(json_object_get_double(iat)))
        return false;
    double ms = json_object_get_double(iat) * 1000.0;
    *out = ms > 9e18 ? INT64_MAX : ms < -9e18 ? INT64_MIN : (int64_t)(ms < 0 ? ms - 0.5 : ms + 0.5);
    return true;
}

static enum auth_result jwt_read_claims(struct json_object *obj, struct auth_claims *claims)
{
    struct json_object *exp, *sub, *info;
    if (!json_object_object_get_ex(obj, "exp", &exp))
        return AUTH_JWT_NO_EXPIRY;
    if (json_object_is_type(exp, json_type_int)) {
        claims->exp = json_object_get_int64(exp);
    } else if (json_object_is_type(exp, json_type_double) && isfinite(json_object_get_double(exp))) {
        double d = json_object_get_double(exp);
        claims->exp = d > 9e18 ? INT64_MAX : d < -9e18 ? INT64_MIN : (int64_t)d;
    } else {
        return AUTH_JWT_NO_EXPIRY;
    }
    if (!jwt_read_iat(obj, &claims->iat_ms))
        return AUTH_JWT_CLAIMS;
    if (json_object_object_get_ex(obj, "sub", &sub)) {
        if (!json_object_is_type(sub, json_type_string))
            return AUTH_JWT_CLAIMS;
        claims->sub = xstrdup(json_object_get_string(sub));
    }
    if (!jwt_string_array(obj, "channels", &claims->channels, &claims->nchannels) ||
        !jwt_string_array(obj, "publish", &claims->publish, &claims->npublish))
        return AUTH_JWT_CLAIMS;
    if (json_object_object_get_ex(obj, "info", &info)) {
        if (!json_object_is_type(info, json_type_object))
            return AUTH_JWT_CLAIMS;
        const char *text = json_object_to_json_string_ext(info, JSON_C_TO_STRING_PLAIN |
                                                                    JSON_C_TO_STRING_NOSLASHESCAPE);
        if (strlen(text) > AUTH_JWT_INFO_MAX)
            return AUTH_JWT_INFO_SIZE;
        claims->info = xstrdup(text);
    }
    return AUTH_OK;
}

enum auth_result auth_jwt_decode(const char *secret, const char *token, int64_t now,
                                 struct auth_claims *claims)
{
    memset(claims, 0, sizeof(*claims));
    if (!token || !*token)
        return AUTH_MISSING;
    size_t len = strnlen(token, AUTH_JWT_MAX + 1);
    if (len > AUTH_JWT_MAX)
        return AUTH_TOO_LONG;
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot2 || strchr(dot2 + 1, '.'))
        return AUTH_JWT_MALFORMED;

    /* The header's alg first: nothing else of the token is trusted before the signature. */
    struct json_object *header = jwt_part_json(token, (size_t)(dot1 - token)), *alg;
    if (!header)
        return AUTH_JWT_MALFORMED;
    bool hs256 = json_object_object_get_ex(header, "alg", &alg) &&
                 json_object_is_type(alg, json_type_string) && strcmp(json_object_get_string(alg), "HS256") == 0;
    json_object_put(header);
    if (!hs256)
        return AUTH_JWT_ALGORITHM;

    unsigned char given[AUTH_JWT_MAX], expected[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    long glen = base64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), given);
    if (glen < 0)
        return AUTH_JWT_MALFORMED;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)token,
              (size_t)(dot2 - token), expected, &mdlen))
        return AUTH_JWT_SIGNATURE;
    if ((size_t)glen != mdlen || CRYPTO_memcmp(given, expected, mdlen) != 0)
        return AUTH_JWT_SIGNATURE;

    struct json_object *payload = jwt_part_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    if (!payload)
        return AUTH_JWT_MALFORMED;
    enum auth_result result = jwt_read_claims(payload, claims);
    json_object_put(payload);
    if (result == AUTH_OK && claims->exp < now)
        result = AUTH_EXPIRED;
    if (result != AUTH_OK)
        auth_claims_free(claims);
    return result;
}

static void string_list_free(char **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        free(list[i]);
    free(list);
}

void auth_claims_free(struct auth_claims *claims)
{
    free(claims->sub);
    string_list_free(claims->channels, claims->nchannels);
    string_list_free(claims->publish, claims->npublish);
    free(claims->info);
    memset(claims, 0, sizeof(*claims));
}

/* Whether one of entries (names, or prefixes ending in '*') names channel. */
static bool auth_list_covers(const char *const *entries, size_t n, const char *channel)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(entries[i]);
        if (len > 0 && entries[i][len - 1] == '*' ? strncmp(channel, entries[i], len - 1) == 0
                                                  : strcmp(channel, entries[i]) == 0)
            return true;
    }
    return false;
}

enum auth_result auth_claims_allow(const struct auth_claims *claims, const char *channel,
                                   const char *user)
{
    if (user && claims->sub && strcmp(user, claims->sub) != 0)
        return AUTH_JWT_USER;
    const char *owner = validate_channel_user(channel);
    if (owner)
        return claims->sub && strcmp(claims->sub, owner) == 0 ? AUTH_OK : AUTH_JWT_CHANNEL;
    return auth_list_covers((const char *const *)claims->channels, claims->nchannels, channel)
               ? AUTH_OK
               : AUTH_JWT_CHANNEL;
}

enum auth_result auth_claims_allow_publish(const struct auth_claims *claims, const char *channel,
                                           const char *user)
{
    if (user && claims->sub && strcmp(user, claims->sub) != 0)
        return AUTH_JWT_USER;
    return auth_list_covers((const char *const *)claims->publish, claims->npublish, channel)
               ? AUTH_OK
               : AUTH_JWT_PUBLISH;
}

static struct json_object *string_array(const char *const *items, size_t n)
{
    struct json_object *arr = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(arr, json_object_new_string(items[i]));
    return arr;
}

char *auth_jwt_make(const char *secret, const char *sub, const char *const *channels,
                    size_t nchannels, const char *const *publish, size_t npublish,
                    int64_t expires, int64_t issued_ms, const char *info)
{
    struct json_object *claims = json_object_new_object();
    if (sub)
        json_object_object_add(claims, "sub", json_object_new_string(sub));
    json_object_object_add(claims, "exp", json_object_new_int64(expires));
    if (issued_ms > 0) {
        char text[32];
        snprintf(text, sizeof(text), "%" PRId64 ".%03d", issued_ms / 1000, (int)(issued_ms % 1000));
        json_object_object_add(claims, "iat", json_object_new_double_s((double)issued_ms / 1000.0, text));
    }
    if (nchannels)
        json_object_object_add(claims, "channels", string_array(channels, nchannels));
    if (npublish)
        json_object_object_add(claims, "publish", string_array(publish, npublish));
    if (info) {
        struct json_object *obj = json_tokener_parse(info);
        if (!obj || !json_object_is_type(obj, json_type_object) ||
            strlen(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE)) > AUTH_JWT_INFO_MAX) {
            json_object_put(obj);
            json_object_put(claims);
            return NULL;
        }
        json_object_object_add(claims, "info", obj);
    }
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    const char *payload = json_object_to_json_string_ext(claims, JSON_C_TO_STRING_PLAIN |
                                                                     JSON_C_TO_STRING_NOSLASHESCAPE);
    struct buf out = BUF_INIT;
    base64url_encode(&out, (const unsigned char *)header, sizeof(header) - 1);
    buf_puts(&out, ".");
    base64url_encode(&out, (const unsigned char *)payload, strlen(payload));
    json_object_put(claims);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)out.data, out.len,
              md, &mdlen)) {
        buf_free(&out);
        return NULL;
    }
    buf_puts(&out, ".");
    base64url_encode(&out, md, mdlen);
    if (out.len > AUTH_JWT_MAX) {
        buf_free(&out);
        return NULL;
    }
    return out.data;
}

static bool auth_is_jwt(const char *token)
{
    const char *dot = strchr(token, '.');
    return dot && strchr(dot + 1, '.');
}

enum auth_result auth_token_verify(const char *secret, const char *channel, const char *user,
                                   const char *token, int64_t now)
{
    if (!token || !*token)
        return AUTH_MISSING;
    if (strnlen(token, AUTH_JWT_MAX + 1) > AUTH_JWT_MAX)
        return AUTH_TOO_LONG;
    if (auth_is_jwt(token)) {
        struct auth_claims claims;
        enum auth_result result = auth_jwt_decode(secret, token, now, &claims);
        if (result == AUTH_OK)
            result = auth_claims_allow(&claims, channel, user);
        auth_claims_free(&claims);
        return result;
    }
    const char *colon = strchr(token, ':');
    long long expires;
    if (!colon || colon - token != 64 || !validate_int(colon + 1, 0, INT64_MAX, &expires))
        return AUTH_MALFORMED;
    const char *owner = validate_channel_user(channel);
    if (owner)
        user = owner;
    char expected[AUTH_HASH_HEX];
    if (auth_sign(secret, channel, expires, user, expected) < 0)
        return AUTH_MALFORMED;
    /* Compare the signature before looking at the time, so both paths cost the same. */
    bool match = CRYPTO_memcmp(expected, token, 64) == 0;
    if (!match)
        return AUTH_MISMATCH;
    if (expires < now)
        return AUTH_EXPIRED;
    return AUTH_OK;
}

enum auth_result auth_tokens_verify_publish(const char *secret, const char *channel, const char *user,
                                            const char *const *tokens, size_t ntokens, int64_t now)
{
    enum auth_result result = AUTH_MISSING;
    for (size_t i = 0; i < ntokens && result != AUTH_OK; i++) {
        if (!tokens[i] || !*tokens[i])
            continue;
        enum auth_result r;
        if (strnlen(tokens[i], AUTH_JWT_MAX + 1) > AUTH_JWT_MAX) {
            r = AUTH_TOO_LONG;
        } else if (!auth_is_jwt(tokens[i])) {
            r = AUTH_JWT_PUBLISH; /* a channel token only ever opens a channel for reading */
        } else {
            struct auth_claims claims;
            r = auth_jwt_decode(secret, tokens[i], now, &claims);
            if (r == AUTH_OK)
                r = auth_claims_allow_publish(&claims, channel, user);
            auth_claims_free(&claims);
        }
        if (r == AUTH_OK || result == AUTH_MISSING || r == AUTH_EXPIRED)
            result = r;
    }
    return result;
}

enum auth_result auth_tokens_subject(const char *secret, const char *const *tokens, size_t ntokens, int64_t now,
                                     char *out, size_t outlen, char **info)
{
    enum auth_result result = AUTH_MISSING;
    out[0] = '\0';
    if (info)
        *info = NULL;
    for (size_t i = 0; i < ntokens; i++) {
        if (!tokens[i] || !auth_is_jwt(tokens[i]) || strnlen(tokens[i], AUTH_JWT_MAX + 1) > AUTH_JWT_MAX)
            continue;
        struct auth_claims claims;
        if (auth_jwt_decode(secret, tokens[i], now, &claims) != AUTH_OK)
            continue;
        if (claims.sub && strlen(claims.sub) < outlen) {
            if (result == AUTH_OK && strcmp(out, claims.sub) != 0)
                result = AUTH_JWT_USER;
            else if (result == AUTH_MISSING) {
                snprintf(out, outlen, "%s", claims.sub);
                result = AUTH_OK;
                if (info && claims.info)
                    *info = xstrdup(claims.info);
            }
        }
        auth_claims_free(&claims);
    }
    if (result != AUTH_OK) {
        out[0] = '\0';
        if (info) {
            free(*info);
            *info = NULL;
        }
    }
    return result;
}

enum auth_result auth_tokens_verify(const char *secret, const char *channel, const char *user,
                                    const char *const *tokens, size_t ntokens, int64_t now)
{
    enum auth_result result = AUTH_MISSING;
    for (size_t i = 0; i < ntokens && result != AUTH_OK; i++) {
        if (!tokens[i] || !*tokens[i])
            continue;
        enum auth_result r = auth_token_verify(secret, channel, user, tokens[i], now);
        if (r == AUTH_OK || result == AUTH_MISSING || r == AUTH_EXPIRED)
            result = r;
    }
    return result;
}

const char *auth_result_text(enum auth_result result)
{
    switch (result) {
    case AUTH_OK:
        return "token: ok";
    case AUTH_MISSING:
        return "token: this channel needs a token";
    case AUTH_MALFORMED:
        return "token: malformed (expected <hex signature>:<expires>)";
    case AUTH_EXPIRED:
        return "token: expired";
    case AUTH_MISMATCH:
        return "token: does not match this channel";
    case AUTH_TOO_LONG:
        return "token: longer than 4096 bytes";
    case AUTH_JWT_MALFORMED:
        return "token: malformed JWT (expected base64url header.claims.signature of JSON objects)";
    case AUTH_JWT_ALGORITHM:
        return "token: algorithm must be HS256";
    case AUTH_JWT_SIGNATURE:
        return "token: bad signature";
    case AUTH_JWT_NO_EXPIRY:
        return "token: exp missing or not a number";
    case AUTH_JWT_CLAIMS:
        return "token: sub must be a string, iat a number, channels and publish arrays of strings, info an object";
    case AUTH_JWT_INFO_SIZE:
        return "token: info larger than 1024 bytes";
    case AUTH_JWT_USER:
        return "token: made for another user (sub)";
    case AUTH_ROLE:
        return "appkey: the subscribe key cannot publish";
    case AUTH_JWT_PUBLISH:
        return "token: its publish claim does not cover this channel";
    case AUTH_JWT_CHANNEL:
        return "token: does not cover this channel";
    case AUTH_REVOKED:
        return "token: revoked: its user was disconnected by the operator (pushctl kick); get a new token";
    }
    return "token: invalid";
}

bool auth_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t n = la < lb ? la : lb;
    return (CRYPTO_memcmp(a, b, n) == 0) & (la == lb);
}
