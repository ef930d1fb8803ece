/* tests/fuzz/auth.c: token verification on any token text: no forged token passes, and a
 * JWT that decodes has claims that hold together. */
#include "auth.h"
#include "fuzz.h"

#define FUZZ_SECRET "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *token = fuzz_text(data, size);
    enum auth_result r = auth_token_verify(FUZZ_SECRET, "private-room", NULL, token, 1000);
    /* Mutated bytes never carry a valid signature for these channels under a secret they do
     * not know (the seed JWT is for news, room-* and user bob, the seed HMAC token for
     * private-other). */
    fuzz_assert(r != AUTH_OK);
    (void)auth_result_text(r);
    r = auth_token_verify(FUZZ_SECRET, "user-alice", "alice", token, 1000);
    fuzz_assert(r != AUTH_OK);
    struct auth_claims claims;
    memset(&claims, 0, sizeof(claims));
    if (auth_jwt_decode(FUZZ_SECRET, token, 1000, &claims) == AUTH_OK) {
        fuzz_assert(claims.exp > 1000);
        (void)auth_claims_allow(&claims, "news", claims.sub);
    }
    auth_claims_free(&claims);
    const char *tokens[] = { token, NULL, "" };
    fuzz_assert(auth_tokens_verify(FUZZ_SECRET, "private-room", NULL, tokens, 3, 1000) != AUTH_OK);
    (void)auth_equal(token, FUZZ_SECRET);
    free(token);
    return 0;
}
