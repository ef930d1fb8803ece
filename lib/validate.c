/* validate.c: the rules for names and text that come from clients. */
#include "validate.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uninorm.h>

/* An ASCII letter or digit, or one of extra. */
static bool ascii_allowed(unsigned char c, const char *extra)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr(extra, c));
}

static bool in_set(const char *s, size_t max, const char *extra)
{
    size_t n = 0;
    for (; s[n]; n++) {
        if (!ascii_allowed((unsigned char)s[n], extra) || n >= max)
            return false;
    }
    return n > 0;
}

/* Code points above ASCII that a name may not hold: C1 controls, separators and spaces,
 * invisible format and filler characters, variation selectors, noncharacters and tags. */
static const struct { unsigned long first, last; } validate_refused[] = {
    { 0x80, 0xA0 },     { 0xAD, 0xAD },     { 0x34F, 0x34F },   { 0x61C, 0x61C },
    { 0x115F, 0x1160 }, { 0x1680, 0x1680 }, { 0x17B4, 0x17B5 }, { 0x180B, 0x180E },
    { 0x2000, 0x200F }, { 0x2028, 0x202F }, { 0x205F, 0x206F }, { 0x3000, 0x3000 },
    { 0x3164, 0x3164 }, { 0xFE00, 0xFE0F }, { 0xFEFF, 0xFEFF }, { 0xFFA0, 0xFFA0 },
    { 0xFFF0, 0xFFFF }, { 0xE0000, 0xE0FFF },
};

/* Decodes the code point at s (well-formed UTF-8, checked before); returns its length. */
static size_t utf8_decode(const unsigned char *s, unsigned long *cp)
{
    size_t need = s[0] >= 0xF0 ? 3 : s[0] >= 0xE0 ? 2 : 1;
    *cp = s[0] & (0x3F >> need);
    for (size_t i = 1; i <= need; i++)
        *cp = (*cp << 6) | (s[i] & 0x3F);
    return need + 1;
}

/* A name: 1-max bytes of well-formed UTF-8, ASCII only from [A-Za-z0-9] and extra, anything
 * above ASCII but validate_refused. */
static bool name_valid(const char *s, size_t max, const char *extra)
{
    size_t len = strlen(s);
    if (len == 0 || len > max || !validate_utf8(s, len))
        return false;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p < 0x80) {
            if (!ascii_allowed(*p++, extra))
                return false;
            continue;
        }
        unsigned long cp;
        p += utf8_decode(p, &cp);
        for (size_t i = 0; i < sizeof(validate_refused) / sizeof(validate_refused[0]); i++)
            if (cp >= validate_refused[i].first && cp <= validate_refused[i].last)
                return false;
    }
    return true;
}

bool validate_nfc(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && (unsigned char)text[i] < 0x80)
        i++;
    if (i == len)
        return true;
    /* NFC is at most three times longer than its input in UTF-8: names fit on the stack. */
    uint8_t buf[3 * VALIDATE_CHANNEL_MAX + 16];
    size_t outlen = sizeof(buf);
    uint8_t *out = u8_normalize(UNINORM_NFC, (const uint8_t *)text, len, buf, &outlen);
    if (!out)
        return false;
    bool same = outlen == len && memcmp(out, text, len) == 0;
    if (out != buf)
        free(out);
    return same;
}

/* name_valid() and then NFC: NULL, VALIDATE_NFC_RULE or rule_error. */
static const char *name_error(const char *s, size_t max, const char *extra, const char *rule_error)
{
    if (!s || !name_valid(s, max, extra))
        return rule_error;
    return validate_nfc(s, strlen(s)) ? NULL : VALIDATE_NFC_RULE;
}

const char *validate_channel_error(const char *name)
{
    return name_error(name, VALIDATE_CHANNEL_MAX, "_.=@/-", "must be " VALIDATE_CHANNEL_RULE);
}

const char *validate_user_error(const char *id)
{
    return name_error(id, VALIDATE_USER_MAX, "_.=@-", "must be " VALIDATE_USER_RULE);
}

bool validate_channel(const char *name)
{
    return validate_channel_error(name) == NULL;
}

bool validate_user(const char *id)
{
    return validate_user_error(id) == NULL;
}

bool validate_msgid(const char *id)
{
    if (!id)
        return false;
    size_t n = 0;
    for (; id[n]; n++) {
        if ((unsigned char)id[n] < 0x21 || (unsigned char)id[n] > 0x7E || n >= VALIDATE_MSGID_MAX)
            return false;
    }
    return n > 0;
}

bool validate_callback(const char *name)
{
    if (!name)
        return false;
    unsigned char c = (unsigned char)name[0];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$'))
        return false;
    return in_set(name, VALIDATE_CALLBACK_MAX, "_$.");
}

bool validate_utf8(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text, *end = s + len;
    while (s < end) {
        unsigned char c = *s;
        if (c == 0)
            return false;
        if (c < 0x80) {
            s++;
            continue;
        }
        int need;
        unsigned long cp;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (end - s <= need)
            return false;
        for (int i = 1; i <= need; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i] & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        s += need + 1;
    }
    return true;
}

bool validate_int(const char *text, long long min, long long max, long long *out)
{
    if (!text || !*text || (text[0] != '-' && (text[0] < '0' || text[0] > '9')))
        return false;
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno || *end || n < min || n > max)
        return false;
    *out = n;
    return true;
}

bool validate_channel_needs_token(const char *channel)
{
    /* The presence events of X (sql/migrations/011_goeasy.sql) are as closed as X. */
    if (strncmp(channel, "presence-", 9) == 0)
        channel += 9;
    if (validate_channel_read_events(channel))
        return true;
    return strncmp(channel, "private-", 8) == 0 || strncmp(channel, "user-", 5) == 0;
}

const char *validate_channel_user(const char *channel)
{
    return strncmp(channel, "user-", 5) == 0 ? channel + 5 : NULL;
}

const char *validate_channel_read_events(const char *channel)
{
    return strncmp(channel, "read-user-", 10) == 0 && channel[10] ? channel + 5 : NULL;
}
