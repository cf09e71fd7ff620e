/*
 * list [--json] and show ID [--json]: the records as Redis holds them,
 * each with its load report and that report's TTL, and what the daemon
 * would make of it (a record it would skip is marked, with the reason).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"

#define NCOLS	7

static const char *const heads[NCOLS] = {
	"ID", "REGION", "STATE", "WEIGHT", "LOAD", "URL", "NOTE"
};

static const char *
or_default(const char *v, const char *dflt)
{
	return v != NULL ? v : dflt;
}

/* "12s" rounded up, "no expiry", or "" when there is no key. */
static void
ttl_text(long long ms, char *buf, size_t len)
{
	if (ms >= 0)
		snprintf(buf, len, "%llds", (ms + 999) / 1000);
	else if (ms == -1)
		snprintf(buf, len, "no expiry");
	else
		buf[0] = '\0';
}

static json_t *
jstr(const char *s)
{
	char	*p;
	json_t	*j;

	if (s == NULL)
		return json_null();
	/* JSON escapes for itself; only bytes that are not UTF-8 need us. */
	if ((j = json_string(s)) != NULL)
		return j;
	p = ctl_printable(s);
	j = p != NULL ? json_string(p) : json_null();
	free(p);
	return j;
}

/* The object list --json prints, and show --json extends. */
static json_t *
record_json(const struct ctl_record *r)
{
	const char	*w = ctl_field(r, "weight");
	json_t		*j;
	uint32_t	 wv;
	char		 note[256];

	if ((j = json_object()) == NULL)
		return NULL;
	json_object_set_new(j, "id", jstr(r->id));
	json_object_set_new(j, "region", jstr(ctl_field(r, "region")));
	json_object_set_new(j, "state",
	    jstr(or_default(ctl_field(r, "state"), "up")));
	if (w == NULL)
		json_object_set_new(j, "weight", json_integer(100));
	else if (fleet_rec_weight(w, &wv) == 0)
		json_object_set_new(j, "weight", json_integer(wv));
	else
		json_object_set_new(j, "weight", jstr(w));
	if (r->load_ok)
		json_object_set_new(j, "load", json_real(r->loadv));
	else
		json_object_set_new(j, "load", jstr(r->load));
	json_object_set_new(j, "ttl", r->load != NULL && r->ttl_ms >= 0 ?
	    json_real((double)r->ttl_ms / 1000) : json_null());
	json_object_set_new(j, "url", jstr(ctl_field(r, "url")));
	json_object_set_new(j, "valid", json_boolean(r->valid));
	ctl_record_note(r, note, sizeof(note));
	json_object_set_new(j, "problem", r->valid ? json_null() :
	    jstr(r->why));
	json_object_set_new(j, "note", jstr(note[0] ? note : NULL));
	return j;
}

static int
print_json(json_t *j)
{
	char	*s;

	if (j == NULL || (s = json_dumps(j, JSON_INDENT(2) |
	    JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))) == NULL) {
		json_decref(j);
		return ctl_err(CTL_FAIL, "out of memory");
	}
	puts(s);
	free(s);
	json_decref(j);
	return CTL_OK;
}

static int
row(const struct ctl_record *r, char **cells)
{
	char	ttl[32], note[256], *t;
	int	i;

	ttl_text(r->ttl_ms, ttl, sizeof(ttl));
	cells[0] = ctl_printable(r->id);
	cells[1] = ctl_printable(or_default(ctl_field(r, "region"), "-"));
	cells[2] = ctl_printable(or_default(ctl_field(r, "state"), "up"));
	cells[3] = ctl_printable(or_default(ctl_field(r, "weight"), "100"));
	if (r->load == NULL)
		cells[4] = ctl_printable("-");
	else if (ttl[0] != '\0') {
		if (asprintf(&t, "%s (%s)", r->load, ttl) < 0)
			t = NULL;
		cells[4] = t != NULL ? ctl_printable(t) : NULL;
		free(t);
	} else
		cells[4] = ctl_printable(r->load);
	cells[5] = ctl_printable(or_default(ctl_field(r, "url"), "-"));
	ctl_record_note(r, note, sizeof(note));
	cells[6] = ctl_printable(note);
	for (i = 0; i < NCOLS; i++)
		if (cells[i] == NULL)
			return -1;
	return 0;
}

static int
print_table(const struct ctl_records *rs)
{
	char		**cells;
	const char	 *s;
	size_t		  w[NCOLS], i, k, len, ncols = NCOLS - 1;
	int		  rc = CTL_OK;

	if ((cells = calloc(rs->n * NCOLS + 1, sizeof(*cells))) == NULL)
		return ctl_err(CTL_FAIL, "out of memory");
	for (k = 0; k < NCOLS; k++)
		w[k] = strlen(heads[k]);
	for (i = 0; i < rs->n && rc == CTL_OK; i++) {
		if (row(&rs->v[i], &cells[i * NCOLS]) == -1) {
			rc = ctl_err(CTL_FAIL, "out of memory");
			break;
		}
		for (k = 0; k < NCOLS; k++)
			if ((len = strlen(cells[i * NCOLS + k])) > w[k])
				w[k] = len;
		if (cells[i * NCOLS + NCOLS - 1][0] != '\0')
			ncols = NCOLS;		/* a NOTE column is needed */
	}
	for (i = 0; i <= rs->n && rc == CTL_OK; i++)
		for (k = 0; k < ncols; k++) {
			s = i == 0 ? heads[k] : cells[(i - 1) * NCOLS + k];
			if (k == ncols - 1 || (i > 0 && k == ncols - 2 &&
			    cells[(i - 1) * NCOLS + k + 1][0] == '\0')) {
				printf("%s\n", s);
				break;
			}
			printf("%-*s  ", (int)w[k], s);
		}
	for (i = 0; i < rs->n * NCOLS; i++)
		free(cells[i]);
	free(cells);
	return rc;
}

static void
print_footer(const struct ctl_records *rs)
{
	char	*p;
	size_t	 i, n;

	printf("(version %" PRIu64 "; ", rs->version);
	if (rs->maintenance) {
		p = ctl_printable(rs->maintenance_value);
		printf("maintenance ON, Retry-After %s; ", p ? p : "?");
		free(p);
	} else
		printf("maintenance off; ");
	for (i = 0, n = 0; i < rs->nregions; i++) {
		if (strcmp(rs->rstates[i], "drain") != 0)
			continue;
		p = ctl_printable(rs->rnames[i]);
		printf("%s %s", n++ == 0 ? "drained:" : ",", p ? p : "?");
		free(p);
	}
	printf("%s)\n", n == 0 ? "no region drained" : "");
}

int
cmd_list(struct ctl *c, int argc, char **argv)
{
	struct ctl_records	 rs;
	json_t			*arr;
	size_t			 i;
	int			 json, rc;

	json = ctl_flag(&argc, argv, "--json");
	ctl_dashdash(&argc, argv);
	if (argc != 1)
		return ctl_usage_of(argv[0]);
	if ((rc = ctl_connect(c)) != CTL_OK ||
	    (rc = ctl_fetch_all(c, &rs)) != CTL_OK)
		return rc;
	if (json) {
		if ((arr = json_array()) != NULL)
			for (i = 0; i < rs.n; i++)
				json_array_append_new(arr,
				    record_json(&rs.v[i]));
		rc = print_json(arr);
	} else if ((rc = print_table(&rs)) == CTL_OK)
		print_footer(&rs);
	ctl_records_free(&rs);
	return rc;
}

/* HGET P regions <region>: "up", "drain", or NULL (counts as up). */
static int
region_state(struct ctl *c, const char *region, char **out)
{
	redisReply	*r;
	char		 k[CTL_KEY_MAX];

	*out = NULL;
	if (region == NULL)
		return CTL_OK;
	if (ctl_key(c, k, sizeof(k), KEY_REGIONS, NULL) == -1)
		return ctl_err(CTL_FAIL, "key too long");
	if ((r = ctl_command(c, "HGET %s %s", k, region)) == NULL)
		return CTL_REDIS;
	if (r->type == REDIS_REPLY_STRING)
		*out = strdup(r->str);
	freeReplyObject(r);
	return CTL_OK;
}

static void
show_line(const char *name, const char *value)
{
	char	*p = ctl_printable(value);

	printf("%-10s %s\n", name, p ? p : "?");
	free(p);
}

static void
show_text(const struct ctl_record *r, const char *rstate)
{
	static const char *const known[] = { "url", "region", "weight",
	    "state" };
	char	 buf[256], ttl[32];
	size_t	 i, k;

	show_line("id", r->id);
	for (k = 0; k < 4; k++) {
		if (k == 1 && ctl_field(r, "region") != NULL) {
			snprintf(buf, sizeof(buf), "%s%s",
			    ctl_field(r, "region"), rstate && strcmp(rstate,
			    "drain") == 0 ? " (region drained)" : "");
			show_line("region", buf);
		} else
			show_line(known[k], or_default(ctl_field(r, known[k]),
			    k == 2 ? "100 (default)" : k == 3 ? "up (default)" :
			    "(missing)"));
	}
	for (i = 0; i < r->n; i++) {
		for (k = 0; k < 4; k++)
			if (strcmp(r->fields[i], known[k]) == 0)
				break;
		if (k == 4) {
			snprintf(buf, sizeof(buf), "%s", r->fields[i]);
			show_line(buf, r->values[i]);
		}
	}
	ttl_text(r->ttl_ms, ttl, sizeof(ttl));
	if (r->load == NULL)
		show_line("load", "- (no report: stale)");
	else {
		snprintf(buf, sizeof(buf), "%s (%s%s)", r->load,
		    r->ttl_ms >= 0 ? "expires in " : "", ttl);
		show_line("load", buf);
	}
	show_line("listed", r->in_set ? "yes" : "no");
	ctl_record_note(r, buf, sizeof(buf));
	show_line("status", buf[0] ? buf : "ok");
}

static json_t *
show_json(const struct ctl_record *r, const char *rstate)
{
	json_t	*j, *f;
	size_t	 i;
	char	*p;

	if ((j = record_json(r)) == NULL || (f = json_object()) == NULL) {
		json_decref(j);
		return NULL;
	}
	for (i = 0; i < r->n; i++) {
		if (json_object_set_new(f, r->fields[i], jstr(r->values[i])) == 0)
			continue;
		/* A field name that is not UTF-8, shown escaped. */
		if ((p = ctl_printable(r->fields[i])) != NULL)
			json_object_set_new(f, p, jstr(r->values[i]));
		free(p);
	}
	json_object_set_new(j, "fields", f);
	json_object_set_new(j, "listed", json_boolean(r->in_set));
	json_object_set_new(j, "region_state", jstr(rstate));
	return j;
}

int
cmd_show(struct ctl *c, int argc, char **argv)
{
	struct ctl_record	 r;
	char			*rstate = NULL;
	int			 json, rc, found;

	json = ctl_flag(&argc, argv, "--json");
	ctl_dashdash(&argc, argv);
	if (argc != 2)
		return ctl_usage_of(argv[0]);
	if ((rc = ctl_check_id(argv[1])) != CTL_OK ||
	    (rc = ctl_connect(c)) != CTL_OK)
		return rc;
	if ((rc = ctl_fetch_one(c, argv[1], &r, &found)) == CTL_OK) {
		if (!found)
			rc = ctl_err(CTL_FAIL, "no such server: %s", argv[1]);
		else if ((rc = region_state(c, ctl_field(&r, "region"),
		    &rstate)) == CTL_OK) {
			if (json)
				rc = print_json(show_json(&r, rstate));
			else
				show_text(&r, rstate);
		}
	}
	free(rstate);
	ctl_record_free(&r);
	return rc;
}
