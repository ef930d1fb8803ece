/* validate.c: the rules for names and text that come from clients. */
#include "validate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool in_set(const char *s, size_t max, const char *extra)
{
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (c && strchr(extra, c));
        if (!ok || n >= max)
            return false;
    }
    return n > 0;
}

bool validate_channel(const char *name)
{
    return name && in_set(name, VALIDATE_CHANNEL_MAX, "_.=@/-");
}

bool validate_user(const char *id)
{
    return id && in_set(id, VALIDATE_USER_MAX, "_.=@-");
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
    return strncmp(channel, "private-", 8) == 0 || strncmp(channel, "user-", 5) == 0;
}

const char *validate_channel_user(const char *channel)
{
    return strncmp(channel, "user-", 5) == 0 ? channel + 5 : NULL;
}
