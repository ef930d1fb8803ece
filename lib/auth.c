/* auth.c: key hashing and HMAC subscribe tokens, compared in constant time. */
#include "auth.h"
#include "validate.h"

#include <inttypes.h>
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

enum auth_result auth_token_verify(const char *secret, const char *channel, const char *user,
                                   const char *token, int64_t now)
{
    if (!token || !*token)
        return AUTH_MISSING;
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
    }
    return "token: invalid";
}

bool auth_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t n = la < lb ? la : lb;
    return (CRYPTO_memcmp(a, b, n) == 0) & (la == lb);
}
