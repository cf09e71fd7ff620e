/*
 * The /fleet answer, streamed.  Built whole with jansson, 100,000 servers
 * made 14 MB of JSON and held the admin thread for 1.57 s, and a slow
 * reader kept the whole text in memory meanwhile.  Here the request copies
 * what it prints (one allocation for the rows, one for their strings) in
 * a few milliseconds, leaves the epoch, and libmicrohttpd pulls the JSON
 * text from the copy a chunk at a time, as fast as the client reads.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "admin_internal.h"
#include "fleet_rec.h"

struct fleet_row {
	size_t			 id, url, region;	/* offsets in strs */
	uint32_t		 weight;
	enum server_state	 state;
	int			 has_load, fresh;
	double			 load;
	unsigned		 families;
	const char		*why;		/* static text */
};

struct fleet_stream {
	enum fleet_source	 source;
	uint64_t		 version;
	double			 age;
	long long		 taken_at;
	int			 maintenance;
	struct fleet_row	*rows;
	size_t			 nrows, next;	/* rows, the next to print */
	char			*strs;		/* NUL-terminated strings */
	size_t			 strslen;
	int			 done;		/* the closing text is out */
	char			*out;		/* printed, not yet handed over */
	size_t			 outlen, outoff, outcap;
	void			(*on_free)(void *);
	void			*on_free_arg;
};

#define STREAM_BATCH	(32 * 1024)	/* text printed per refill */

static size_t
put_str(struct fleet_stream *fs, const char *s)
{
	size_t	at = fs->strslen, n = strlen(s) + 1;

	memcpy(fs->strs + at, s, n);
	fs->strslen += n;
	return at;
}

struct fleet_stream *
admin_fleet_stream_new(const struct fleet *f, double now)
{
	const struct fleet_server	*s;
	struct fleet_stream		*fs;
	struct fleet_row		*r;
	size_t				 i, need = 0;

	for (i = 0; i < f->nservers; i++) {
		s = &f->servers[i];
		need += strlen(s->id) + strlen(s->base) +
		    strlen(f->rm->regions[s->region].name) + 3;
	}
	if ((fs = calloc(1, sizeof(*fs))) == NULL)
		return NULL;
	fs->rows = calloc(f->nservers ? f->nservers : 1, sizeof(*fs->rows));
	fs->strs = malloc(need ? need : 1);
	if (fs->rows == NULL || fs->strs == NULL) {
		admin_fleet_stream_free(fs);
		return NULL;
	}
	fs->source = f->source;
	fs->version = f->version;
	fs->age = now - f->taken_mono;
	fs->taken_at = (long long)f->taken_wall;
	fs->maintenance = f->maintenance;
	fs->nrows = f->nservers;
	for (i = 0; i < f->nservers; i++) {
		s = &f->servers[i];
		r = &fs->rows[i];
		r->id = put_str(fs, s->id);
		r->url = put_str(fs, s->base);
		r->region = put_str(fs, f->rm->regions[s->region].name);
		r->weight = s->weight;
		r->state = s->state;
		r->has_load = s->has_report;
		r->load = s->load;
		r->fresh = fleet_server_fresh(f, s, now);
		r->families = s->families;
		r->why = fleet_server_why(f, s, now);
	}
	return fs;
}

size_t
admin_fleet_stream_size(const struct fleet_stream *fs)
{
	return sizeof(*fs) + fs->nrows * sizeof(*fs->rows) + fs->strslen +
	    fs->outcap;
}

void
admin_fleet_stream_on_free(struct fleet_stream *fs, void (*fn)(void *), void *arg)
{
	fs->on_free = fn;
	fs->on_free_arg = arg;
}

void
admin_fleet_stream_free(void *cls)
{
	struct fleet_stream	*fs = cls;

	if (fs == NULL)
		return;
	if (fs->on_free != NULL)
		fs->on_free(fs->on_free_arg);
	free(fs->rows);
	free(fs->strs);
	free(fs->out);
	free(fs);
}

static int
reserve(struct fleet_stream *fs, size_t n)
{
	char	*p;
	size_t	 cap;

	if (fs->outlen + n <= fs->outcap)
		return 0;
	cap = fs->outcap ? fs->outcap : STREAM_BATCH * 2;
	while (cap < fs->outlen + n)
		cap *= 2;
	if ((p = realloc(fs->out, cap)) == NULL)
		return -1;
	fs->out = p;
	fs->outcap = cap;
	return 0;
}

static int
put(struct fleet_stream *fs, const char *s, size_t n)
{
	if (reserve(fs, n) != 0)
		return -1;
	memcpy(fs->out + fs->outlen, s, n);
	fs->outlen += n;
	return 0;
}

static int
putf(struct fleet_stream *fs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
putf(struct fleet_stream *fs, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (reserve(fs, 128) != 0)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(fs->out + fs->outlen, fs->outcap - fs->outlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= fs->outcap - fs->outlen)
		return -1;		/* our formats stay far below 128 */
	fs->outlen += (size_t)n;
	return 0;
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static int
put_json_str(struct fleet_stream *fs, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p;
	char			 e[6] = { '\\', 'u', '0', '0', 0, 0 };

	if (reserve(fs, strlen(s) * 6 + 2) != 0)
		return -1;
	fs->out[fs->outlen++] = '"';
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			fs->out[fs->outlen++] = '\\';
			fs->out[fs->outlen++] = (char)*p;
		} else if (*p < 0x20) {
			e[4] = hex[*p >> 4];
			e[5] = hex[*p & 15];
			memcpy(fs->out + fs->outlen, e, 6);
			fs->outlen += 6;
		} else
			fs->out[fs->outlen++] = (char)*p;
	}
	fs->out[fs->outlen++] = '"';
	return 0;
}

/* A real as jansson prints one (%.17g, ".0" when it looks integral). */
static int
put_real(struct fleet_stream *fs, double v)
{
	char	b[40];

	if (!isfinite(v))
		return put(fs, "null", 4);
	snprintf(b, sizeof(b), "%.6g", v);
	if (strpbrk(b, ".eE") == NULL)
		strcat(b, ".0");
	return put(fs, b, strlen(b));
}

static const char *
state_name(enum server_state s)
{
	return s == SERVER_UP ? "up" : s == SERVER_DRAIN ? "drain" : "down";
}

static int
put_head(struct fleet_stream *fs)
{
	return putf(fs, "{\"source\":\"%s\",\"version\":%llu,\"age\":",
	    fleet_source_name(fs->source), (unsigned long long)fs->version) ||
	    put_real(fs, fs->age) ||
	    putf(fs, ",\"taken_at\":%lld,\"maintenance\":%s,\"servers\":[",
	    fs->taken_at, fs->maintenance ? "true" : "false");
}

static int
put_row(struct fleet_stream *fs, const struct fleet_row *r, int first)
{
	return put(fs, first ? "{\"id\":" : ",{\"id\":", first ? 6 : 7) ||
	    put_json_str(fs, fs->strs + r->id) ||
	    put(fs, ",\"url\":", 7) ||
	    put_json_str(fs, fs->strs + r->url) ||
	    put(fs, ",\"region\":", 10) ||
	    put_json_str(fs, fs->strs + r->region) ||
	    putf(fs, ",\"weight\":%u,\"state\":\"%s\",\"load\":", r->weight,
	    state_name(r->state)) ||
	    (r->has_load ? put_real(fs, r->load) : put(fs, "null", 4)) ||
	    putf(fs, ",\"fresh\":%s,\"families\":\"%s\",\"candidate\":%s,"
	    "\"why\":\"%s\"}", r->fresh ? "true" : "false",
	    fleet_rec_families_name(r->families),
	    strcmp(r->why, "candidate") == 0 ? "true" : "false", r->why);
}

/* Print the next batch of text; -1 when out of memory. */
static int
refill(struct fleet_stream *fs)
{
	fs->outlen = fs->outoff = 0;
	if (fs->next == 0 && put_head(fs) != 0)
		return -1;
	while (fs->next < fs->nrows && fs->outlen < STREAM_BATCH) {
		if (put_row(fs, &fs->rows[fs->next], fs->next == 0) != 0)
			return -1;
		fs->next++;
	}
	if (fs->next == fs->nrows && fs->outlen < STREAM_BATCH) {
		if (put(fs, "]}", 2) != 0)
			return -1;
		fs->done = 1;
	}
	return 0;
}

ssize_t
admin_fleet_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct fleet_stream	*fs = cls;
	size_t			 n;

	(void)pos;
	if (fs->outoff == fs->outlen) {
		if (fs->done)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (refill(fs) != 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	n = fs->outlen - fs->outoff;
	if (n > max)
		n = max;
	memcpy(buf, fs->out + fs->outoff, n);
	fs->outoff += n;
	return (ssize_t)n;
}
