/*
 * The parse module (parse.h) against reference implementations written
 * here the slow, obvious way.  Input: byte 0 picks parse_uint's max (a
 * table, or the next 8 bytes), the rest is the string (a NUL ends it).
 * The string is also split at '\n' into a word and candidates for
 * parse_closest, which is checked against a full-matrix OSA distance.
 */
#include <float.h>
#include <locale.h>
#include <math.h>
#include <strings.h>

#include "fuzz_common.h"
#include "parse.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s fails on "  \
	"\"%s\"\n", __FILE__, __LINE__, #c, s); abort(); } } while (0)

static int
dig(int c)
{
	return c >= '0' && c <= '9';
}

static int
alnum(int c)
{
	return dig(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Digits only, non-empty; its value (saturating at > 2^64) in *v. */
static int
ref_digits(const char *p, size_t n, unsigned __int128 *v)
{
	size_t	i;

	*v = 0;
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (!dig((unsigned char)p[i]))
			return 0;
		if (*v <= ((unsigned __int128)1 << 65))
			*v = *v * 10 + (unsigned)(p[i] - '0');
	}
	return 1;
}

static void
check_uint(const char *s, unsigned long long max)
{
	unsigned long long	 v = 12345;
	unsigned __int128	 ref;
	int			 ok, rc;

	ok = ref_digits(s, strlen(s), &ref) && ref <= max;
	rc = parse_uint(s, max, &v);
	CHECK(rc == 0 || rc == -1);
	CHECK(ok == (rc == 0));
	if (rc == 0)
		CHECK(v <= max && v == ref);
	else
		CHECK(v == 12345);		/* *out untouched */
}

static void
check_size(const char *s)
{
	uint64_t		 v = 777, mult = 1;
	unsigned __int128	 ref;
	size_t			 len = strlen(s), n = len;
	int			 ok, rc;

	if (len > 0)
		switch (s[len - 1]) {
		case 'k': case 'K': mult = 1024; n--; break;
		case 'm': case 'M': mult = 1024 * 1024; n--; break;
		case 'g': case 'G': mult = 1024 * 1024 * 1024; n--; break;
		}
	ok = len < 32 && ref_digits(s, n, &ref) &&
	    ref * mult <= UINT64_MAX;
	rc = parse_size(s, &v);
	CHECK(ok == (rc == 0));
	if (rc == 0)
		CHECK((unsigned __int128)v == ref * mult);
	else
		CHECK(v == 777);
}

/* The grammar [+-]digits[.digits], 15 significant and 22 decimals. */
static int
ref_decimal_ok(const char *s, int sign_ok)
{
	size_t	nint = 0, nfrac = 0, sig = 0;
	int	lead = 1;

	if (sign_ok && (*s == '+' || *s == '-'))
		s++;
	for (; dig((unsigned char)*s); s++, nint++)
		if (!(lead && *s == '0'))
			lead = 0, sig++;
	if (nint == 0)
		return 0;
	if (*s == '.') {
		s++;
		for (; dig((unsigned char)*s); s++, nfrac++)
			if (!(lead && *s == '0'))
				lead = 0, sig++;
		if (nfrac == 0)
			return 0;
	}
	return *s == '\0' && sig <= 15 && nfrac <= 22;
}

static void
check_decimal(const char *s, int sign_ok)
{
	double	d = 42.5, d2 = 42.5;
	int	rc, ok;

	ok = ref_decimal_ok(s, sign_ok);
	rc = parse_decimal(s, sign_ok, &d);
	CHECK(ok == (rc == 0));
	if (rc != 0) {
		CHECK(d == 42.5);
		return;
	}
	CHECK(isfinite(d));
	if (!sign_ok)
		CHECK(d >= 0 && !signbit(d));
	/* Correctly rounded: glibc's strtod (C locale) is. */
	CHECK(d == strtod(s, NULL));
	CHECK(signbit(d) == signbit(strtod(s, NULL)));
	if (!sign_ok) {
		CHECK(parse_duration(s, &d2) == 0 && d2 == d);
	}
}

static void
check_bool(const char *s)
{
	static const char *const yes[] = { "yes", "true", "on", "1" },
	    *const no[] = { "no", "false", "off", "0" };
	size_t	i;
	int	v = 7, want = -1, rc;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			want = 1;
		if (strcasecmp(s, no[i]) == 0)
			want = 0;
	}
	rc = parse_bool(s, &v);
	CHECK((want >= 0) == (rc == 0));
	CHECK(rc == 0 ? v == want : v == 7);
}

static void
check_name(const char *s)
{
	size_t	i, n = strlen(s);
	int	ok = n >= 1 && n <= PARSE_NAME_MAX && alnum((unsigned char)s[0]);

	for (i = 1; ok && i < n; i++)
		ok = alnum((unsigned char)s[i]) || s[i] == '.' ||
		    s[i] == '_' || s[i] == '-';
	CHECK(parse_is_name(s) == ok);
}

/* Optimal string alignment distance, the whole matrix. */
static size_t
osa(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b), i, j, c, d[65][65];

	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < c)
				c = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < c)
				c = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < c)
				c = d[i - 2][j - 2] + 1;
			d[i][j] = c;
		}
	return d[la][lb];
}

static void
check_closest(const char *s, const char *const *v, size_t n, size_t stride)
{
	const char	*got, *c, *want = NULL;
	size_t		 i, best = SIZE_MAX, ties = 0, dist, la = strlen(s);
	int		 found = 0;

	got = parse_closest(s, v, n, stride);
	for (i = 0; i < n; i++) {
		c = *(const char *const *)(const void *)((const char *)v +
		    i * stride);
		if (got != NULL && got == c)
			found = 1;
		if (la >= 64 || c == NULL || strlen(c) >= 64)
			continue;
		dist = osa(s, c);
		if (dist < best)
			best = dist, want = c, ties = 0;
		else if (dist == best)
			ties++;
	}
	if (want == NULL || ties > 0 || best == 0 || best > (la < 5 ? 1 : 2))
		want = NULL;
	CHECK(got == NULL || found);
	CHECK(got == NULL || strcmp(got, s) != 0);
	CHECK(got == want);
}

static const char *const fixed[] = {
	"address", "allow", "url", "master", "sentinels", "prefix",
	"refresh", "full_resync", "stale_after", "cache", "cache_max_age",
	"retry_after", "status", "allowed_hosts", "allow_http", "threads",
	"max_connections", "per_ip_connections", "yes", "no", "true",
	"false", "on", "off", "json", "combined", "hash", "embedded",
	"ls", "get", "set", "rm", "drain", "undrain", "status2", "a", "",
	"ab", "ba", "abc", "acb",
};

struct named {
	int		 pad;
	const char	*name;
	double		 more;
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned long long maxes[] = { 0, 1, 2, 5, 8, 9, 10, 11,
	    99, 100, 255, 1023, 65535, 1000000, 4294967295ULL,
	    9223372036854775807ULL, 9223372036854775808ULL,
	    18446744073709551614ULL, 18446744073709551615ULL,
	    1844674407370955161ULL, 1844674407370955162ULL };
	static struct named	 nv[sizeof(fixed) / sizeof(fixed[0])];
	unsigned long long	 max;
	const char		*cand[17];
	char			*s, *word, *p, *nl;
	size_t			 i, n;

	if (size == 0)
		return 0;
	setlocale(LC_NUMERIC, "C");
	if (data[0] < 0xf0 || size < 9) {
		max = maxes[data[0] % (sizeof(maxes) / sizeof(maxes[0]))];
		data++, size--;
	} else {
		memcpy(&max, data + 1, 8);
		data += 9, size -= 9;
	}
	s = fuzz_str(data, size);
	check_uint(s, max);
	check_uint(s, UINT64_MAX);
	check_size(s);
	check_decimal(s, 0);
	check_decimal(s, 1);
	check_bool(s);
	check_name(s);
	check_closest(s, fixed, sizeof(fixed) / sizeof(fixed[0]),
	    sizeof(fixed[0]));
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		nv[i].name = fixed[i];
	check_closest(s, &nv[0].name, sizeof(nv) / sizeof(nv[0]),
	    sizeof(nv[0]));
	/* word\ncand\ncand...: "\x7f" alone stands for a NULL candidate. */
	word = s;
	n = 0;
	if ((nl = strchr(s, '\n')) != NULL) {
		*nl = '\0';
		for (p = nl + 1; n < sizeof(cand) / sizeof(cand[0]); p = nl + 1) {
			nl = strchr(p, '\n');
			if (nl != NULL)
				*nl = '\0';
			cand[n++] = strcmp(p, "\x7f") == 0 ? NULL : p;
			if (nl == NULL)
				break;
		}
		check_closest(word, cand, n, sizeof(cand[0]));
		check_uint(word, max);
		check_size(word);
		check_decimal(word, 1);
	}
	free(s);
	return 0;
}
