/*
 * parse: the grammar of values (see parse.h), and the "did you mean"
 * distance that the config file and geo307ctl's messages use.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "ascii.h"
#include "parse.h"

#define DECIMAL_DIGITS		15	/* exact in a double */

/*
 * [+-]digits[.digits], computed without strtod: strtod follows the
 * locale's decimal point and accepts inf, nan, hex and exponents.  At
 * most 15 significant digits, so the mantissa is exact and one division
 * by an exact power of ten gives the correctly rounded double.
 */
int
parse_decimal(const char *s, int sign_ok, double *out)
{
	static const double	pow10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21,
		1e22
	};
	uint64_t	mant = 0;
	int		neg = 0, ndig = 0, nfrac = 0, frac = 0;

	if (s == NULL || out == NULL)
		return -1;
	if (sign_ok && (*s == '-' || *s == '+'))
		neg = *s++ == '-';
	if (!is_digit((unsigned char)*s))
		return -1;
	for (;; s++) {
		if (*s == '.' && !frac) {
			frac = 1;
			if (!is_digit((unsigned char)s[1]))
				return -1;
			continue;
		}
		if (!is_digit((unsigned char)*s))
			break;
		if (mant != 0 || *s != '0')
			ndig++;
		if (ndig > DECIMAL_DIGITS)
			return -1;
		mant = mant * 10 + (uint64_t)(*s - '0');
		if (frac && ++nfrac >= (int)(sizeof(pow10) / sizeof(pow10[0])))
			return -1;
	}
	if (*s != '\0')
		return -1;
	*out = (double)mant / pow10[nfrac];
	if (neg)
		*out = -*out;
	return 0;
}

int
parse_duration(const char *s, double *out)
{
	return parse_decimal(s, 0, out);
}

int
parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long	v = 0;
	unsigned		d;

	if (s == NULL || out == NULL || !is_digit((unsigned char)*s))
		return -1;
	for (; *s != '\0'; s++) {
		if (!is_digit((unsigned char)*s))
			return -1;
		d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int
parse_size(const char *s, uint64_t *out)
{
	unsigned long long	v;
	uint64_t		mult = 1;
	char			buf[32];
	size_t			len;

	if (s == NULL || out == NULL || (len = strlen(s)) == 0 ||
	    len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len + 1);
	switch (buf[len - 1]) {
	case 'K': case 'k':
		mult = UINT64_C(1) << 10;
		break;
	case 'M': case 'm':
		mult = UINT64_C(1) << 20;
		break;
	case 'G': case 'g':
		mult = UINT64_C(1) << 30;
		break;
	}
	if (mult != 1)
		buf[len - 1] = '\0';
	if (parse_uint(buf, UINT64_MAX / mult, &v) == -1)
		return -1;
	*out = (uint64_t)v * mult;
	return 0;
}

int
parse_bool(const char *s, int *out)
{
	static const char	*yes[] = { "yes", "true", "on", "1" };
	static const char	*no[] = { "no", "false", "off", "0" };
	size_t			 i;

	if (s == NULL || out == NULL)
		return -1;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

int
parse_is_name(const char *s)
{
	size_t	i;

	if (s == NULL || !is_alnum((unsigned char)s[0]))
		return 0;
	for (i = 1; s[i] != '\0'; i++)
		if (i >= PARSE_NAME_MAX || (!is_alnum((unsigned char)s[i]) &&
		    s[i] != '.' && s[i] != '_' && s[i] != '-'))
			return 0;
	return 1;
}

/*
 * "Did you mean": the one candidate within a small edit distance of s
 * (optimal string alignment: a swap of two neighbours counts once), or
 * NULL when none is close or two are equally close.  v holds n strings
 * stride bytes apart (an array of structs or of pointers).
 */
const char *
parse_closest(const char *s, const char *const *v, size_t n, size_t stride)
{
	size_t		 i, a, b, la, lb, d, best = SIZE_MAX, ties = 0;
	size_t		 m[3][64];
	const char	*c, *win = NULL;

	if ((la = strlen(s)) >= 64)
		return NULL;
	for (i = 0; i < n; i++) {
		c = *(const char *const *)(const void *)((const char *)v +
		    i * stride);
		if (c == NULL || (lb = strlen(c)) >= 64)
			continue;
		for (b = 0; b <= lb; b++)
			m[0][b] = b;
		for (a = 1; a <= la; a++) {
			m[a % 3][0] = a;
			for (b = 1; b <= lb; b++) {
				d = m[(a - 1) % 3][b - 1] + (s[a - 1] != c[b - 1]);
				if (m[(a - 1) % 3][b] + 1 < d)
					d = m[(a - 1) % 3][b] + 1;
				if (m[a % 3][b - 1] + 1 < d)
					d = m[a % 3][b - 1] + 1;
				if (a > 1 && b > 1 && s[a - 1] == c[b - 2] &&
				    s[a - 2] == c[b - 1] &&
				    m[(a - 2) % 3][b - 2] + 1 < d)
					d = m[(a - 2) % 3][b - 2] + 1;
				m[a % 3][b] = d;
			}
		}
		d = m[la % 3][lb];
		if (d < best) {
			best = d;
			win = c;
			ties = 0;
		} else if (d == best)
			ties++;
	}
	/* One edit in a short word, two in a longer one: a typo, not a guess. */
	if (win == NULL || ties > 0 || best == 0 || best > (la < 5 ? 1 : 2))
		return NULL;
	return win;
}
