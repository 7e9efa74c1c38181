/* Plain decimal numbers (see decimal.h). */
#include "decimal.h"

static bool is_digit(char c) {
    return c >= '0' && c <= '9'; /* (isdigit depends on the locale) */
}

static size_t digits(const char *s) {
    size_t n = 0;
    while (is_digit(s[n]))
        n++;
    return n;
}

size_t rn_decimal_prefix(const char *s) {
    size_t n = 0;
    if (s[n] == '+' || s[n] == '-') n++;
    size_t whole = digits(s + n);
    n += whole;
    size_t frac = 0;
    if (s[n] == '.') {
        frac = digits(s + n + 1);
        if (whole || frac) n += 1 + frac;
    }
    if (!whole && !frac) return 0;
    if (s[n] == 'e' || s[n] == 'E') {
        size_t e = n + 1;
        if (s[e] == '+' || s[e] == '-') e++;
        size_t exp = digits(s + e);
        if (exp) n = e + exp;
    }
    return n;
}

bool rn_is_decimal(const char *s) {
    size_t n = rn_decimal_prefix(s);
    return n > 0 && s[n] == '\0';
}
