/* Python str.isspace()/strip() on UTF-8 (see pystr.h). */
#include "eval/pystr.h"

#include "data/ingest.h"

int hx_py_isspace(unsigned cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

size_t hx_py_space_len(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    if (len == 0) return 0;
    size_t k = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (k == 0 || k > len || hx_utf8_valid_prefix(str, k) != k) return 0; /* invalid UTF-8 is not whitespace */
    unsigned cp = k == 1 ? s[0] : s[0] & (0x7F >> k);
    for (size_t j = 1; j < k; j++) cp = (cp << 6) | (s[j] & 0x3F);
    return hx_py_isspace(cp) ? k : 0;
}

size_t hx_py_rstrip(const char *s, size_t len)
{
    while (len > 0) {
        size_t j = len - 1; /* start of the last character: back over up to 3 continuation bytes */
        while (j > 0 && len - j < 4 && ((unsigned char)s[j] & 0xC0) == 0x80) j--;
        if (hx_py_space_len(s + j, len - j) != len - j) break;
        len = j;
    }
    return len;
}

size_t hx_py_lstrip(const char *s, size_t len)
{
    size_t i = 0, k;
    while ((k = hx_py_space_len(s + i, len - i)) > 0) i += k;
    return i;
}
