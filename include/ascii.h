/*
 * ascii: character classes for bytes that end up in configs, URLs, Redis
 * records and on the wire.  ASCII only, whatever the locale: <ctype.h>
 * would let setlocale() change what a valid host or number is.  A byte
 * above 0x7f (a negative char) is in no class.
 */
#ifndef GEO307_ASCII_H
#define GEO307_ASCII_H

#include <string.h>

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

/* The blanks of the config grammar: SP HT VT FF CR. */
static inline int
is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r';
}

/* Printable ASCII without blanks: what a token or a path may hold. */
static inline int
is_visible_str(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static inline int
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 1;
	return 0;
}

/* An HTTP token (RFC 9110 5.6.2): header names and methods. */
static inline int
is_token_str(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!is_alnum((unsigned char)*s) &&
		    strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return 0;
	return 1;
}

static inline void
str_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (is_upper((unsigned char)*s))
			*s = (char)(*s - 'A' + 'a');
}

static inline void
str_upper(char *s)
{
	for (; *s != '\0'; s++)
		if (is_lower((unsigned char)*s))
			*s = (char)(*s - 'a' + 'A');
}

#endif
