/*
 * How the tests turn one text into a call: a request view for respond()
 * and a fleet record for fleet_rec_server().  Shared by the unit tests
 * (test_respond, test_mutate) and the libFuzzer harnesses (tests/fuzz/),
 * so the fuzzers and `make check` feed the same code the same way.
 */
#ifndef GEO307_TESTS_FAKE_INPUT_H
#define GEO307_TESTS_FAKE_INPUT_H

#include <string.h>
#include <strings.h>

#include "fleet_rec.h"
#include "respond.h"

#define FAKE_HEADERS_MAX	16

struct fake_req {
	const char	*names[FAKE_HEADERS_MAX];
	const char	*values[FAKE_HEADERS_MAX];
	int		 n;
};

/* request_view.header over a fake_req: lines joined, never truncated. */
static inline const char *
fake_header(void *ctx, const char *name, char *buf, size_t size, int *count)
{
	struct fake_req	*f = ctx;
	size_t		 need = 1, len = 0, l;
	int		 i, c = 0;

	for (i = 0; i < f->n; i++)
		if (strcasecmp(f->names[i], name) == 0)
			need += strlen(f->values[i]) + 2;
	if (size == 0)
		return NULL;
	buf[0] = '\0';
	if (need > size)		/* as http_request.c */
		return respond_header_overflow;
	for (i = 0; i < f->n; i++) {
		if (strcasecmp(f->names[i], name) != 0)
			continue;
		if (c++ > 0) {
			memcpy(buf + len, ", ", 2);
			len += 2;
		}
		l = strlen(f->values[i]);
		memcpy(buf + len, f->values[i], l + 1);
		len += l;
	}
	if (count)
		*count = c;
	return c ? buf : NULL;
}

/*
 * "METHOD\nTARGET\nName: value\n..." (s is cut in place) into rv's
 * method, target and header callback over fr; the rest of rv is the
 * caller's.
 */
static inline void
fake_request_parse(char *s, struct request_view *rv, struct fake_req *fr)
{
	char	*p, *nl, *colon;

	memset(fr, 0, sizeof(*fr));
	rv->method = s;
	rv->target = NULL;
	rv->targetlen = 0;
	if ((nl = strchr(s, '\n')) != NULL) {
		*nl++ = '\0';
		rv->target = nl;
		if ((nl = strchr(nl, '\n')) != NULL)
			*nl++ = '\0';
		rv->targetlen = strlen(rv->target);
	}
	for (p = nl; p != NULL && *p != '\0' && fr->n < FAKE_HEADERS_MAX;
	    p = nl) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		if ((colon = strchr(p, ':')) == NULL)
			continue;
		*colon++ = '\0';
		while (*colon == ' ')
			colon++;
		fr->names[fr->n] = p;
		fr->values[fr->n++] = colon;
	}
	rv->header = fake_header;
	rv->ctx = fr;
}

/*
 * "ID\nfield=value\n..." (s is cut in place): every value through each
 * value grammar, then the whole record through fleet_rec_server().
 * Returns the reject reason's name, or NULL when the record is valid.
 */
static inline const char *
fake_record_check(const struct config *cfg, char *s)
{
	const char		*fields[16], *values[16];
	struct server_record	 rec;
	struct reject		 rej;
	enum server_state	 st;
	char			*p, *nl, *eq;
	uint32_t		 w;
	double			 d;
	size_t			 n = 0;
	int			 dr;

	if ((nl = strchr(s, '\n')) != NULL)
		*nl++ = '\0';
	for (p = nl; p != NULL && *p != '\0' && n < 16; p = nl) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		fields[n] = p;
		values[n] = NULL;
		if ((eq = strchr(p, '=')) != NULL) {
			*eq = '\0';
			values[n] = eq + 1;
			(void)fleet_rec_weight(values[n], &w);
			(void)fleet_rec_state(values[n], &st);
			(void)fleet_rec_load(values[n], &d);
			(void)fleet_rec_region_state(values[n], &dr);
			(void)fleet_rec_maintenance(values[n], &d);
		}
		n++;
	}
	if (fleet_rec_server(cfg, s, fields, values, n, &rec, &rej) != 0)
		return fleet_rec_reject_reason_name(rej.reason);
	fleet_rec_record_free(&rec);
	return NULL;
}

#endif
