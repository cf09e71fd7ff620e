/*
 * fleet_raw_encode against the jansson objects it replaced (the oracle of
 * tests/unit/test_fleet_raw.c): a raw_fleet built from the input, its
 * text parsed back by jansson and json_equal to what jansson builds;
 * with no duplicate keys, byte for byte what json_dumps(JSON_COMPACT)
 * writes.  Now and then the text goes through fleet_raw_write and
 * fleet_raw_load (in /dev/shm) and encodes to the same JSON again.
 *
 * Input: 8 bytes version, 8 bytes taken, then a byte stream: counts are
 * one byte each, a string is a length byte (low 5 bits) and that many
 * bytes, NUL mapped to 0xfe (never UTF-8).
 */
#include <jansson.h>
#include <time.h>

#include "fuzz_common.h"
#include "fleet_raw.h"
#include "../fleet_raw_oracle.h"

struct rd {
	const uint8_t	*p;
	size_t		 n;
};

static unsigned
byte(struct rd *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

static char *
str(struct rd *r)
{
	size_t	len = byte(r) & 31, i;
	char	*s = malloc(len + 1);

	if (s == NULL)
		abort();
	for (i = 0; i < len; i++) {
		s[i] = (char)byte(r);
		if (s[i] == '\0')
			s[i] = (char)0xfe;
	}
	s[len] = '\0';
	return s;
}

/* Does a valid key occur twice among keys[0..n) (stride apart)? */
static int
dup_key(char *const *keys, size_t n, size_t stride)
{
	size_t		 i, j;
	const char	*a, *b;

	for (i = 0; i < n; i++) {
		a = *(char *const *)(const void *)((const char *)keys + i * stride);
		for (j = i + 1; j < n; j++) {
			b = *(char *const *)(const void *)((const char *)keys +
			    j * stride);
			if (strcmp(a, b) == 0)
				return 1;
		}
	}
	return 0;
}

static void
fail(const char *what, const char *text, json_t *want)
{
	char	*w = want != NULL ? json_dumps(want, JSON_COMPACT) : NULL;

	fprintf(stderr, "fleet_raw_encode: %s\n want %s\n got  %s\n", what,
	    w != NULL ? w : "(null)", text != NULL ? text : "(null)");
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd		 r = { data, size };
	struct raw_fleet	*raw, *back;
	struct raw_server	*rs;
	json_error_t		 je;
	json_t			*want, *got, *got2;
	char			*text, *text2, *w, path[64], err[512];
	size_t			 i, j, dups = 0;
	uint64_t		 taken;
	unsigned		 flags;

	if ((raw = calloc(1, sizeof(*raw))) == NULL)
		abort();
	for (i = 0; i < 8; i++)
		raw->version = raw->version << 8 | byte(&r);
	for (i = 0, taken = 0; i < 8; i++)
		taken = taken << 8 | byte(&r);
	flags = byte(&r);
	raw->taken_wall = flags & 1 ? (time_t)taken :
	    (time_t)(taken % 2000000000);
	raw->nservers = byte(&r) % 9;
	if ((raw->servers = calloc(raw->nservers + 1, sizeof(*rs))) == NULL)
		abort();
	for (i = 0; i < raw->nservers; i++) {
		rs = &raw->servers[i];
		rs->id = str(&r);
		rs->n = byte(&r) % 6;
		rs->fields = calloc(rs->n + 1, sizeof(char *));
		rs->values = calloc(rs->n + 1, sizeof(char *));
		if (rs->fields == NULL || rs->values == NULL)
			abort();
		for (j = 0; j < rs->n; j++) {
			rs->fields[j] = str(&r);
			rs->values[j] = str(&r);
		}
		dups += dup_key(rs->fields, rs->n, sizeof(char *));
		rs->load = byte(&r) & 1 ? str(&r) : NULL;
	}
	dups += dup_key(&raw->servers[0].id, raw->nservers, sizeof(*rs));
	raw->nregions = byte(&r) % 4;
	raw->rnames = calloc(raw->nregions + 1, sizeof(char *));
	raw->rstates = calloc(raw->nregions + 1, sizeof(char *));
	if (raw->rnames == NULL || raw->rstates == NULL)
		abort();
	for (i = 0; i < raw->nregions; i++) {
		raw->rnames[i] = str(&r);
		raw->rstates[i] = str(&r);
	}
	dups += dup_key(raw->rnames, raw->nregions, sizeof(char *));
	raw->maintenance = byte(&r) & 1 ? str(&r) : NULL;

	want = oracle(raw);
	text = fleet_raw_encode(raw);
	if (want == NULL) {
		/* Only a maintenance value that is not UTF-8 makes json_pack fail. */
		if (text != NULL)
			fail("encoded what jansson refuses", text, NULL);
		fleet_raw_free(raw);
		return 0;
	}
	if (text == NULL)
		fail("NULL text", NULL, want);
	if (text[0] == '\0' || text[strlen(text) - 1] != '\n')
		fail("no final newline", text, want);
	if ((got = json_loads(text, 0, &je)) == NULL)
		fail(je.text, text, want);
	if (!json_equal(want, got))
		fail("not json_equal", text, want);
	if (dups == 0) {
		w = json_dumps(want, JSON_COMPACT);
		if (w == NULL || strlen(w) + 1 != strlen(text) ||
		    memcmp(w, text, strlen(w)) != 0)
			fail("not the bytes json_dumps writes", text, want);
		free(w);
	}
	if ((flags & 0xf0) == 0x50 && raw->taken_wall <= time(NULL) &&
	    raw->taken_wall > 0) {
		snprintf(path, sizeof(path), "/dev/shm/g307-fuzz-enc-%d",
		    (int)getpid());
		if (fleet_raw_write(text, path, err, sizeof(err)) != 0)
			fail(err, text, want);
		if ((back = fleet_raw_load(path, 1e12, err, sizeof(err))) == NULL)
			fail(err, text, want);
		unlink(path);
		if ((text2 = fleet_raw_encode(back)) == NULL ||
		    (got2 = json_loads(text2, 0, &je)) == NULL)
			fail("reload does not encode", text2, want);
		if (!json_equal(got, got2))
			fail("reload encodes to other JSON", text2, want);
		json_decref(got2);
		free(text2);
		fleet_raw_free(back);
	}
	json_decref(got);
	json_decref(want);
	free(text);
	fleet_raw_free(raw);
	return 0;
}
