/*
 * ascii: character classes for bytes that end up in configs, URLs, Redis
 * records and on the wire.  ASCII only, whatever the locale: <ctype.h>
 * would let setlocale() change what a valid host or number is.  A byte
 * above 0x7f (a negative char) is in no class.
 */
#ifndef GEO307_ASCII_H
#define GEO307_ASCII_H

static inline int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline int
is_upper(int c)
{
	return c >= 'A' && c <= 'Z';
}

static inline int
is_lower(int c)
{
	return c >= 'a' && c <= 'z';
}

static inline int
is_alnum(int c)
{
	return is_digit(c) || is_upper(c) || is_lower(c);
}

static inline int
is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

#endif
