/* tests/unit/validate.c: channel, user, callback, UTF-8 and number rules, table-driven. */
#include "../tap.h"
#include "validate.h"

#include <stdint.h>

static const struct { const char *name; int valid; } channels[] = {
    { "news", 1 }, { "user-alice", 1 }, { "a.b=c@d/e_f-g", 1 }, { "A9", 1 },
    { "", 0 }, { "has space", 0 }, { "semi;colon", 0 }, { "colon:x", 0 }, { "comma,x", 0 },
    { "quote\"", 0 }, { "star*", 0 },
    /* Letters of any script. */
    { "caf\xc3\xa9", 1 },                                   /* café */
    { "\xe8\xae\xa2\xe5\x8d\x95", 1 },                       /* 订单 */
    { "user-\xe5\xbc\xa0\xe4\xb8\x89", 1 },                  /* user-张三 */
    { "private-\xd0\xbd\xd0\xbe\xd0\xb2\xd0\xbe\xd1\x81\xd1\x82\xd0\xb8", 1 }, /* private-новости */
    { "\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a", 1 },               /* عربي */
    { "\xf0\x9f\x98\x80", 1 },                               /* an emoji */
    /* Never controls, separators, invisible characters or broken UTF-8. */
    { "a\xc2\x85" "b", 0 },                                  /* U+0085 NEL, a C1 control */
    { "a\xc2\xa0" "b", 0 },                                  /* U+00A0 no-break space */
    { "\xe8\xae\xa2\xe3\x80\x80\xe5\x8d\x95", 0 },             /* U+3000 ideographic space */
    { "a\xe2\x80\x8b" "b", 0 },                              /* U+200B zero-width space */
    { "a\xe2\x80\xae" "b", 0 },                              /* U+202E right-to-left override */
    { "a\xef\xbb\xbf", 0 },                                  /* U+FEFF byte order mark */
    { "a\xef\xbf\xbf", 0 },                                  /* U+FFFF noncharacter */
    { "a\xf3\xa0\x80\x81", 0 },                              /* U+E0001 language tag */
    { "\xe8\xae", 0 },                                      /* truncated */
    { "\xc0\xaf", 0 },                                      /* overlong '/' */
    { "a\x7f", 0 },                                         /* DEL */
};

static const struct { const char *name; int valid; } callbacks[] = {
    { "cb", 1 }, { "_x", 1 }, { "$", 1 }, { "jQuery123_456", 1 }, { "a.b.c", 1 }, { "$.x_1", 1 },
    { "", 0 }, { "1abc", 0 }, { ".a", 0 }, { "a-b", 0 }, { "alert(1)", 0 }, { "a b", 0 },
    { "<script>", 0 }, { "a;b", 0 }, { "a[0]", 0 },
};

static const struct { const char *id; int valid; } msgids[] = {
    { "m1", 1 }, { "0f8fad5b-d9cb-469f-a165-70867728950e", 1 }, { "a:b,c/d=e", 1 }, { "!~", 1 },
    { "", 0 }, { "a b", 0 }, { "a\tb", 0 }, { "caf\xc3\xa9", 0 }, { "a\x7f", 0 },
};

static const struct { const char *bytes; size_t len; int valid; const char *what; } texts[] = {
    { "hello", 5, 1, "ASCII" },
    { "caf\xc3\xa9", 5, 1, "two-byte form" },
    { "\xe4\xbd\xa0\xe5\xa5\xbd", 6, 1, "three-byte forms (Chinese)" },
    { "\xf0\x9f\x98\x80", 4, 1, "four-byte form (emoji)" },
    { "\xc3", 1, 0, "truncated sequence" },
    { "\xc0\xaf", 2, 0, "overlong slash" },
    { "\xe0\x80\xaf", 3, 0, "overlong three-byte" },
    { "\xed\xa0\x80", 3, 0, "UTF-16 surrogate" },
    { "\xf4\x90\x80\x80", 4, 0, "above U+10FFFF" },
    { "\xff", 1, 0, "0xFF byte" },
    { "a\0b", 3, 0, "embedded NUL" },
    { "\x80", 1, 0, "lone continuation byte" },
};

int main(void)
{
    char long_name[130];
    memset(long_name, 'a', 129);
    long_name[129] = '\0';
    for (size_t i = 0; i < sizeof(channels) / sizeof(channels[0]); i++)
        ok(validate_channel(channels[i].name) == channels[i].valid, "channel \"%s\" %s",
           channels[i].name, channels[i].valid ? "valid" : "rejected");
    ok(!validate_channel(long_name), "channel of 129 bytes rejected");
    long_name[128] = '\0';
    ok(validate_channel(long_name), "channel of 128 bytes valid");
    ok(!validate_channel(NULL), "NULL channel rejected");

    for (size_t i = 0; i < sizeof(callbacks) / sizeof(callbacks[0]); i++)
        ok(validate_callback(callbacks[i].name) == callbacks[i].valid, "callback \"%s\" %s",
           callbacks[i].name, callbacks[i].valid ? "valid" : "rejected");
    memset(long_name, 'c', 65);
    long_name[65] = '\0';
    ok(!validate_callback(long_name), "callback of 65 bytes rejected");
    long_name[64] = '\0';
    ok(validate_callback(long_name), "callback of 64 bytes valid");

    for (size_t i = 0; i < sizeof(msgids) / sizeof(msgids[0]); i++)
        ok(validate_msgid(msgids[i].id) == msgids[i].valid, "msgid \"%s\" %s", msgids[i].id,
           msgids[i].valid ? "valid" : "rejected");
    memset(long_name, 'm', 65);
    long_name[65] = '\0';
    ok(!validate_msgid(long_name), "msgid of 65 bytes rejected");
    long_name[64] = '\0';
    ok(validate_msgid(long_name), "msgid of 64 bytes valid");
    ok(!validate_msgid(NULL), "NULL msgid rejected");

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        ok(validate_utf8(texts[i].bytes, texts[i].len) == texts[i].valid, "UTF-8 %s %s",
           texts[i].what, texts[i].valid ? "accepted" : "rejected");

    ok(validate_user("alice"), "user alice valid");
    ok(!validate_user("a/b"), "user with slash rejected");
    ok(validate_user("\xe5\xbc\xa0\xe4\xb8\x89"), "user \u5f20\u4e09 (Chinese) valid");
    ok(!validate_user("\xe5\xbc\xa0 \xe4\xb8\x89"), "user with a space rejected");
    char wide[140] = "";
    for (int i = 0; i < 42; i++)
        strcat(wide, "\xe8\xae\xa2");
    ok(validate_channel(wide), "channel of 42 three-byte letters (126 bytes) valid");
    strcat(wide, "\xe8\xae\xa2");
    ok(!validate_channel(wide), "channel of 43 three-byte letters (129 bytes) rejected: the bound is bytes");
    wide[63] = '\0';
    ok(validate_user(wide), "user of 21 three-byte letters (63 bytes) valid");
    strcat(wide, "a\xe8\xae\xa2");
    ok(!validate_user(wide), "user of 67 bytes rejected");
    /* NFC, as PostgreSQL wants it: composed forms only. */
    ok(validate_channel("caf\xc3\xa9") && validate_channel_error("caf\xc3\xa9") == NULL,
       "composed \u00e9 (U+00E9) accepted");
    is_str(validate_channel_error("cafe\xcc\x81"), VALIDATE_NFC_RULE,
           "decomposed e + U+0301 refused as not NFC");
    ok(!validate_channel("cafe\xcc\x81") && !validate_user("e\xcc\x81"), "so by validate_channel and validate_user");
    is_str(validate_user_error("e\xcc\x81"), VALIDATE_NFC_RULE, "user id e + U+0301 refused as not NFC");
    ok(validate_channel("\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4"), "Hangul \ud55c\uad6d\uc5b4 (composed syllables) accepted");
    is_str(validate_channel_error("\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab"), VALIDATE_NFC_RULE,
           "Hangul as conjoining jamo (U+1112 U+1161 U+11AB) refused as not NFC");
    ok(validate_user("\xe8\xae\xa2\xe5\x8d\x95"), "CJK \u8ba2\u5355 accepted");
    is_str(validate_channel_error("\xe2\x84\xab"), VALIDATE_NFC_RULE, "U+212B ANGSTROM SIGN (NFC: U+00C5) refused");
    is_str(validate_channel_error("a b"), "must be " VALIDATE_CHANNEL_RULE, "a space is told the rule, not NFC");
    is_str(validate_user_error("a/b"), "must be " VALIDATE_USER_RULE, "a user id with / is told the rule");
    ok(validate_channel_error(NULL) != NULL && validate_user_error(NULL) != NULL, "NULL names refused");
    ok(validate_nfc("a.b=c@d/e_f-g", 13) && validate_nfc("", 0), "ASCII is NFC");
    char ascii[300];
    memset(ascii, 'x', sizeof(ascii));
    ok(validate_nfc(ascii, sizeof(ascii)), "300 bytes of ASCII (no terminator needed) are NFC");
    ok(!validate_nfc("xxxxe\xcc\x81", 6) && validate_nfc("xxxxe\xcc\x81", 5), "only len bytes are read");

    ok(validate_channel_needs_token("private-x") && validate_channel_needs_token("user-bob") &&
       !validate_channel_needs_token("news"), "private-* and user-* need tokens, others not");
    ok(validate_channel_needs_token("presence-private-x") && validate_channel_needs_token("presence-user-bob") &&
       !validate_channel_needs_token("presence-news"), "so do their presence channels, presence-news not");
    is_str(validate_channel_user("user-bob"), "bob", "user channel owner");
    ok(validate_channel_user("news") == NULL, "no owner for other channels");
    is_str(validate_channel_read_events("read-user-bob"), "user-bob", "read-user-bob is read as user-bob");
    ok(validate_channel_read_events("read-user-") == NULL && validate_channel_read_events("read-news") == NULL &&
       validate_channel_read_events("user-bob") == NULL, "no other channel is a user's read events");
    ok(validate_channel_needs_token("read-user-bob") && !validate_channel_needs_token("read-news"),
       "read-user-bob needs a token, read-news not");

    long long n = 0;
    ok(validate_int("42", 0, 100, &n) && n == 42, "42 in range");
    ok(!validate_int("101", 0, 100, &n), "101 out of range");
    ok(!validate_int("4x", 0, 100, &n), "trailing junk rejected");
    ok(!validate_int(" 4", 0, 100, &n), "leading space rejected");
    ok(!validate_int("", 0, 100, &n), "empty rejected");
    ok(!validate_int("99999999999999999999999", 0, INT64_MAX, &n), "overflow rejected");
    return tap_done();
}
