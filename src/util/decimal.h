/* Internal (the library and the command-line program): what counts as a number in text the user
 * writes (specs, flags, bounds, sizes). strtod takes more than a person means by a number:
 * hexadecimal ("0x10" is 16, "0x1p-3" is 0.125), "inf", "nan", "infinity" and leading white space;
 * each of those is refused here, so every number is read the way it looks. */
#ifndef RATENN_DECIMAL_H
#define RATENN_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The length of the plain decimal number at the start of s, 0 if none: an optional sign, digits
 * with an optional '.' (at least one digit: "5", "5.", ".5", "-0.25"), and an optional exponent
 * (e or E, an optional sign, at least one digit; an 'e' without digits is not part of it). */
size_t rn_decimal_prefix(const char *s);
/* Whether all of s is a plain decimal number (rn_decimal_prefix covers it, and it is not empty). */
bool rn_is_decimal(const char *s);

#ifdef __cplusplus
}
#endif
#endif
