/* tests/unit/auth.c: key hashing and subscribe tokens (HMAC and JWT) against known vectors. */
#include "../tap.h"
#include "../../lib/auth.c" /* the static base64url encoder, to sign arbitrary headers */

/* A JWT of the given header and claims JSON, HS256-signed with secret whatever alg says. */
static char *jwt_sign(const char *secret, const char *header, const char *claims)
{
    struct buf out = BUF_INIT;
    base64url_encode(&out, (const unsigned char *)header, strlen(header));
    buf_puts(&out, ".");
    base64url_encode(&out, (const unsigned char *)claims, strlen(claims));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)out.data, out.len, md, &mdlen);
    buf_puts(&out, ".");
    base64url_encode(&out, md, mdlen);
    return out.data;
}

#define JWT_VECTOR "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MjAwMDAwMDAwMCwiY2hhbm5lbHMiOlsi" \
    "cHJpdmF0ZS1yb29tIiwiY2hhdC0qIl0sInB1Ymxpc2giOlsiY2hhdC0qIl0sImluZm8iOnsibmFtZSI6IkFsaWNlIn19." \
    "gLi5S2dEqCMXNNZY3USHLDS-1dLBMIiYwl6Senn_WiM"
#define HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define ALICE "{\"sub\":\"alice\",\"exp\":2000000000,\"channels\":[\"private-room\",\"chat-*\"]"

static void jwt_cases(void)
{
    char big_info[1200];
    snprintf(big_info, sizeof(big_info), "{\"exp\":2000000000,\"info\":{\"a\":\"%01100d\"}}", 0);
    static const struct {
        const char *name, *secret, *header, *claims, *channel, *user;
        enum auth_result want;
    } cases[] = {
        { "valid", "s3cret", HS256, ALICE "}", "private-room", NULL, AUTH_OK },
        { "expired", "s3cret", HS256, "{\"exp\":500,\"channels\":[\"private-room\"]}", "private-room", NULL, AUTH_EXPIRED },
        { "missing exp", "s3cret", HS256, "{\"channels\":[\"private-room\"]}", "private-room", NULL, AUTH_JWT_NO_EXPIRY },
        { "exp not a number", "s3cret", HS256, "{\"exp\":\"2000000000\"}", "private-room", NULL, AUTH_JWT_NO_EXPIRY },
        { "alg none", "s3cret", "{\"alg\":\"none\"}", ALICE "}", "private-room", NULL, AUTH_JWT_ALGORITHM },
        { "alg HS512", "s3cret", "{\"alg\":\"HS512\"}", ALICE "}", "private-room", NULL, AUTH_JWT_ALGORITHM },
        { "alg RS256", "s3cret", "{\"alg\":\"RS256\"}", ALICE "}", "private-room", NULL, AUTH_JWT_ALGORITHM },
        { "alg hs256 (case matters)", "s3cret", "{\"alg\":\"hs256\"}", ALICE "}", "private-room", NULL, AUTH_JWT_ALGORITHM },
        { "no alg", "s3cret", "{\"typ\":\"JWT\"}", ALICE "}", "private-room", NULL, AUTH_JWT_ALGORITHM },
        { "header not JSON", "s3cret", "not json", ALICE "}", "private-room", NULL, AUTH_JWT_MALFORMED },
        { "claims not JSON", "s3cret", HS256, "{\"exp\":", "private-room", NULL, AUTH_JWT_MALFORMED },
        { "claims not an object", "s3cret", HS256, "[1]", "private-room", NULL, AUTH_JWT_MALFORMED },
        { "channel not listed", "s3cret", HS256, ALICE "}", "private-other", NULL, AUTH_JWT_CHANNEL },
        { "prefix chat-* covers chat-1", "s3cret", HS256, ALICE "}", "chat-1", NULL, AUTH_OK },
        { "prefix chat-* does not cover cha", "s3cret", HS256, ALICE "}", "cha", NULL, AUTH_JWT_CHANNEL },
        { "user-bob with sub alice", "s3cret", HS256, ALICE "}", "user-bob", NULL, AUTH_JWT_CHANNEL },
        { "user-alice with sub alice", "s3cret", HS256, ALICE "}", "user-alice", NULL, AUTH_OK },
        { "user-bob with sub bob", "s3cret", HS256, "{\"sub\":\"bob\",\"exp\":2000000000}", "user-bob", NULL, AUTH_OK },
        { "user-bob listed in channels without sub", "s3cret", HS256, "{\"exp\":2000000000,\"channels\":[\"user-bob\"]}",
          "user-bob", NULL, AUTH_JWT_CHANNEL },
        { "request names bob, sub alice", "s3cret", HS256, ALICE "}", "private-room", "bob", AUTH_JWT_USER },
        { "request names alice, sub alice", "s3cret", HS256, ALICE "}", "private-room", "alice", AUTH_OK },
        { "request names bob, no sub", "s3cret", HS256, "{\"exp\":2000000000,\"channels\":[\"private-room\"]}",
          "private-room", "bob", AUTH_OK },
        { "small info", "s3cret", HS256, ALICE ",\"info\":{\"name\":\"Alice\"}}", "private-room", NULL, AUTH_OK },
        { "info not an object", "s3cret", HS256, ALICE ",\"info\":\"Alice\"}", "private-room", NULL, AUTH_JWT_CLAIMS },
        { "channels not an array", "s3cret", HS256, "{\"exp\":2000000000,\"channels\":\"private-room\"}",
          "private-room", NULL, AUTH_JWT_CLAIMS },
        { "sub not a string", "s3cret", HS256, "{\"exp\":2000000000,\"sub\":7}", "user-7", NULL, AUTH_JWT_CLAIMS },
        { "wrong secret", "other", HS256, ALICE "}", "private-room", NULL, AUTH_JWT_SIGNATURE },
        { "iat a number of seconds", "s3cret", HS256, ALICE ",\"iat\":1700000000}", "private-room", NULL, AUTH_OK },
        { "iat not a number", "s3cret", HS256, ALICE ",\"iat\":\"1700000000\"}", "private-room", NULL, AUTH_JWT_CLAIMS },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *token = jwt_sign(cases[i].secret, cases[i].header, cases[i].claims);
        enum auth_result got = auth_token_verify("s3cret", cases[i].channel, cases[i].user, token, 1000);
        ok(got == cases[i].want, "jwt %s: %s", cases[i].name, auth_result_text(got));
        free(token);
    }

    char *token = jwt_sign("s3cret", HS256, big_info);
    is_int(auth_token_verify("s3cret", "news", NULL, token, 1000), AUTH_JWT_INFO_SIZE, "jwt info over 1 KiB refused");
    free(token);

    token = jwt_sign("s3cret", HS256, ALICE "}");
    size_t last = strlen(token) - 2; /* not the last character: its low bits may be padding */
    token[last] = token[last] == 'A' ? 'B' : 'A';
    is_int(auth_token_verify("s3cret", "private-room", NULL, token, 1000), AUTH_JWT_SIGNATURE,
           "jwt with one signature character changed");
    free(token);

    is_int(auth_token_verify("s3cret", "private-room", NULL, "e30.e30!.abc", 1000), AUTH_JWT_ALGORITHM,
           "alg is checked before the rest is decoded");
    is_int(auth_token_verify("s3cret", "private-room", NULL, "ey!J.e30.abc", 1000), AUTH_JWT_MALFORMED,
           "header not base64url");
    is_int(auth_token_verify("s3cret", "private-room", NULL, "a.b.c.d", 1000), AUTH_JWT_MALFORMED, "three dots");

    char *long_token = xmalloc(AUTH_JWT_MAX + 10);
    memset(long_token, 'A', AUTH_JWT_MAX + 9);
    long_token[10] = long_token[20] = '.';
    long_token[AUTH_JWT_MAX + 9] = '\0';
    is_int(auth_token_verify("s3cret", "private-room", NULL, long_token, 1000), AUTH_TOO_LONG, "token over 4 KiB refused");
    free(long_token);

    /* auth_jwt_make: a known vector (Python's hmac/base64 over the same JSON), and a round trip. */
    const char *channels[] = { "private-room", "chat-*" }, *publish[] = { "chat-*" };
    token = auth_jwt_make("s3cret", "alice", channels, 2, publish, 1, 2000000000, 0, "{\"name\": \"Alice\"}");
    is_str(token, JWT_VECTOR, "auth_jwt_make matches a JWT made in Python");
    struct auth_claims claims;
    ok(auth_jwt_decode("s3cret", token, 1000, &claims) == AUTH_OK, "auth_jwt_decode takes it");
    is_str(claims.sub, "alice", "sub");
    ok(claims.exp == 2000000000, "exp");
    ok(claims.nchannels == 2 && strcmp(claims.channels[1], "chat-*") == 0, "channels");
    ok(claims.npublish == 1 && strcmp(claims.publish[0], "chat-*") == 0, "publish");
    is_str(claims.info, "{\"name\":\"Alice\"}", "info kept serialized");
    auth_claims_free(&claims);
    auth_claims_free(&claims);
    free(token);
    ok(auth_jwt_make("s3cret", NULL, NULL, 0, NULL, 0, 1, 0, "[1]") == NULL, "info must be an object");
    /* iat: when the token was made, kept to the millisecond (kicks compare it). */
    token = auth_jwt_make("s3cret", "alice", NULL, 0, NULL, 0, 2000000000, 1700000000123, NULL);
    ok(token && auth_jwt_decode("s3cret", token, 1000, &claims) == AUTH_OK && claims.iat_ms == 1700000000123,
       "auth_jwt_make writes iat in seconds with milliseconds, and auth_jwt_decode reads it back");
    auth_claims_free(&claims);
    free(token);
    token = jwt_sign("s3cret", HS256, ALICE ",\"iat\":1700000000}");
    ok(auth_jwt_decode("s3cret", token, 1000, &claims) == AUTH_OK && claims.iat_ms == 1700000000000, "a whole-second iat");
    auth_claims_free(&claims);
    free(token);
    token = jwt_sign("s3cret", HS256, ALICE "}");
    ok(auth_jwt_decode("s3cret", token, 1000, &claims) == AUTH_OK && claims.iat_ms == 0, "no iat reads as 0");
    auth_claims_free(&claims);
    free(token);
    /* The JWT tests/sql/jwt.sql expects from push.jwt(), which C must accept. */
    static const char sql_jwt[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJleHAiOiAxNzAwMDAwMDAwLCAic3ViIjogImFsaWNlIiwgImluZm8iOiB7Im5hbWUiOiAiQWxpY2UifSwgInB1Ymxpc2giOiBbImNoYXQtKiJdLCAiY2hhbm5lbHMiOiBbInByaXZhdGUtcm9vbSIsICJjaGF0LSoiXX0."
        "viIi9H_GtIQhs_uXK7vZVCIBehfX5RrbIYAeH82klPQ";
    static const char sql_secret[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    ok(auth_token_verify(sql_secret, "chat-2", "alice", sql_jwt, 1000) == AUTH_OK, "a JWT from SQL push.jwt() opens chat-2");
    ok(auth_token_verify(sql_secret, "user-alice", NULL, sql_jwt, 1000) == AUTH_OK, "and user-alice (its sub)");
    ok(auth_token_verify(sql_secret, "chat-2", NULL, sql_jwt, 1700000001) == AUTH_EXPIRED, "until its exp");
    const char *several[] = { "junk", jwt_sign("s3cret", HS256, ALICE "}") };
    ok(auth_tokens_verify("s3cret", "chat-9", NULL, several, 2, 1000) == AUTH_OK, "a JWT among several tokens");
    free((char *)several[1]);

    /* The last signature character carries 2 spare bits: only its canonical spelling (zeros)
     * is taken, so one signature has one spelling. */
    token = jwt_sign("s3cret", HS256, ALICE "}");
    char *sig = strrchr(token, '.') + 1;
    size_t end = strlen(sig) - 1;
    const char *digit = strchr(base64url_digits, sig[end]);
    sig[end] = base64url_digits[(digit - base64url_digits) | 1];
    is_int(auth_token_verify("s3cret", "private-room", NULL, token, 1000), AUTH_JWT_MALFORMED,
           "jwt whose signature ends with spare bits set: malformed");
    free(token);

    /* Publishing: only the publish claim counts, user-<id> channels included. */
    const char *pub_tokens[] = { sql_jwt };
    ok(auth_tokens_verify_publish(sql_secret, "chat-2", "alice", pub_tokens, 1, 1000) == AUTH_OK,
       "publish claim chat-* covers chat-2");
    ok(auth_tokens_verify_publish(sql_secret, "private-room", "alice", pub_tokens, 1, 1000) == AUTH_JWT_PUBLISH,
       "private-room is readable but not publishable with it");
    ok(auth_tokens_verify_publish(sql_secret, "user-alice", NULL, pub_tokens, 1, 1000) == AUTH_JWT_PUBLISH,
       "nor its own user channel unless publish names it");
    ok(auth_tokens_verify_publish(sql_secret, "chat-2", "bob", pub_tokens, 1, 1000) == AUTH_JWT_USER,
       "another user's connection cannot use it");
    ok(auth_tokens_verify_publish(sql_secret, "chat-2", NULL, pub_tokens, 1, 1700000001) == AUTH_EXPIRED,
       "until its exp");
    char hmac_token[AUTH_TOKEN_MAX];
    ok(auth_token_make("s3cret", "private-x", 2000000000, NULL, hmac_token, sizeof(hmac_token)) == 0, "a channel token");
    const char *hmac_tokens[] = { hmac_token };
    ok(auth_tokens_verify_publish("s3cret", "private-x", NULL, hmac_tokens, 1, 1000) == AUTH_JWT_PUBLISH,
       "a channel token never allows publishing");
    ok(auth_tokens_verify_publish("s3cret", "private-x", NULL, NULL, 0, 1000) == AUTH_MISSING, "no token: missing");
}

int main(void)
{
    char hash[AUTH_HASH_HEX];
    auth_key_hash("abc", hash);
    is_str(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "SHA-256 of abc (FIPS 180-2 vector)");

    /* Expected value computed with: printf 'news:2000000000' | openssl dgst -sha256 -hmac s3cret */
    char token[AUTH_TOKEN_MAX];
    ok(auth_token_make("s3cret", "news", 2000000000, NULL, token, sizeof(token)) == 0, "make a token");
    is_str(token, "0e58e0ad51b7c7dc432b1cae577fa3fe577c5c1bf3e90b728d420522488452ad:2000000000",
           "token is hex HMAC-SHA256 of channel:expires, then :expires");

    ok(auth_token_verify("s3cret", "news", NULL, token, 1000) == AUTH_OK, "valid before expiry");
    ok(auth_token_verify("s3cret", "news", NULL, token, 2000000001) == AUTH_EXPIRED, "expired after");
    ok(auth_token_verify("other", "news", NULL, token, 1000) == AUTH_MISMATCH, "wrong secret");
    ok(auth_token_verify("s3cret", "news2", NULL, token, 1000) == AUTH_MISMATCH, "wrong channel");
    ok(auth_token_verify("s3cret", "news", NULL, "", 1000) == AUTH_MISSING, "missing");
    ok(auth_token_verify("s3cret", "news", NULL, "abc:1", 1000) == AUTH_MALFORMED, "malformed");

    /* user-<id> channels are signed for that user whatever the caller claims. */
    ok(auth_token_make("s3cret", "user-alice", 2000000000, "alice", token, sizeof(token)) == 0, "user token");
    ok(auth_token_verify("s3cret", "user-alice", "mallory", token, 1000) == AUTH_OK, "user channel checks its owner");
    ok(auth_token_make("s3cret", "user-alice", 2000000000, "bob", token, sizeof(token)) == 0, "token for bob");
    ok(auth_token_verify("s3cret", "user-alice", "bob", token, 1000) == AUTH_MISMATCH, "bob's token cannot open alice's channel");

    char good[AUTH_TOKEN_MAX], old_token[AUTH_TOKEN_MAX];
    ok(auth_token_make("s3cret", "private-x", 2000000000, NULL, good, sizeof(good)) == 0 &&
       auth_token_make("s3cret", "private-x", 500, NULL, old_token, sizeof(old_token)) == 0, "two tokens");
    const char *several[] = { "junk", NULL, "", old_token, good };
    ok(auth_tokens_verify("s3cret", "private-x", NULL, several, 5, 1000) == AUTH_OK, "any matching token of several opens");
    ok(auth_tokens_verify("s3cret", "private-x", NULL, several, 4, 1000) == AUTH_EXPIRED,
       "without a good one, an expired token is the reason given");
    ok(auth_tokens_verify("s3cret", "private-x", NULL, several + 1, 2, 1000) == AUTH_MISSING, "only empty entries: missing");

    ok(auth_equal("abc", "abc") && !auth_equal("abc", "abd") && !auth_equal("abc", "abcd"), "constant-time equality");
    jwt_cases();
    return tap_done();
}
