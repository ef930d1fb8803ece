/* tests/unit/auth.c: key hashing and subscribe tokens against known vectors. */
#include "../tap.h"
#include "auth.h"

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
    return tap_done();
}
