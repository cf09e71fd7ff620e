/*
 * fleet_rec: the values of SPEC section 3, checked the same way by the
 * daemon (records it reads from Redis or its cache) and by geo307ctl
 * (values before it writes them).  Grammars are exact: no surrounding
 * blanks, no signs, no case folding, no locale.  What these functions
 * accept is what every router will accept, so they err on the strict
 * side: a record that one reader takes and another skips would split
 * the fleet.
 *
 * Decisions where the contract leaves room:
 * - weight and maintenance: leading zeros are fine ("007" = 7), as in
 *   the config's own [server] weight (parse_uint); a sign, blanks or an
 *   empty string are not.
 * - A server hash with a field the schema does not know ("wieght") is
 *   rejected whole (REJECT_FIELD): skipping it silently would give the
 *   server weight 100 where the operator meant something else.  Field
 *   names are case-sensitive.
 * - families: "4", "6" or "4 6" exactly (default "4 6").
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ascii.h"
#include "fleet_rec.h"
#include "parse.h"

#define WEIGHT_MAX	1000000
#define WEIGHT_DEFAULT	100
#define MAINT_MAX	86400


const char *
fleet_rec_reject_reason_name(enum reject_reason r)
{
	switch (r) {
	case REJECT_ID:
		return "id";
	case REJECT_URL:
		return "url";
	case REJECT_REGION:
		return "region";
	case REJECT_WEIGHT:
		return "weight";
	case REJECT_STATE:
		return "state";
	case REJECT_LOAD:
		return "load";
	case REJECT_MISSING:
		return "missing";
	case REJECT_FIELD:
		return "field";
	case REJECT__COUNT:
		break;
	}
	return "unknown";
}

int
fleet_rec_version(const char *s, uint64_t *out)
{
	unsigned long long	v;

	if (parse_uint(s, INT64_MAX, &v) == -1)
		return -1;
	*out = v;
	return 0;
}

const char *
fleet_rec_state_name(enum server_state s)
{
	switch (s) {
	case SERVER_UP:
		return "up";
	case SERVER_DRAIN:
		return "drain";
	case SERVER_DOWN:
		return "down";
	}
	return "unknown";
}

int
fleet_rec_weight(const char *s, uint32_t *out)
{
	unsigned long long	v;

	if (parse_uint(s, WEIGHT_MAX, &v) == -1)
		return -1;
	if (out != NULL)
		*out = (uint32_t)v;
	return 0;
}

int
fleet_rec_state(const char *s, enum server_state *out)
{
	enum server_state	st;

	if (s == NULL)
		return -1;
	if (strcmp(s, "up") == 0)
		st = SERVER_UP;
	else if (strcmp(s, "drain") == 0)
		st = SERVER_DRAIN;
	else if (strcmp(s, "down") == 0)
		st = SERVER_DOWN;
	else
		return -1;
	if (out != NULL)
		*out = st;
	return 0;
}

/*
 * ^(0(\.[0-9]{1,6})?|1(\.0{1,6})?)$ by hand.  The value is computed as
 * micro-units / 1e6 rather than with strtod(): the same correctly
 * rounded double (both operands are exact), but no dependence on
 * LC_NUMERIC, which a library must not assume is "C".
 */
int
fleet_rec_load(const char *s, double *out)
{
	unsigned long	micro = 0;
	size_t		i, nfrac;

	if (s == NULL || (s[0] != '0' && s[0] != '1'))
		return -1;
	if (s[1] != '\0' && s[1] != '.')
		return -1;
	nfrac = 0;
	if (s[1] == '.') {
		for (i = 2; s[i] != '\0'; i++) {
			if (!is_digit(s[i]) || nfrac == 6)
				return -1;
			if (s[0] == '1' && s[i] != '0')
				return -1;
			micro = micro * 10 + (unsigned long)(s[i] - '0');
			nfrac++;
		}
		if (nfrac == 0)
			return -1;
	}
	for (i = nfrac; i < 6; i++)
		micro *= 10;
	if (out != NULL)
		*out = s[0] == '1' ? 1.0 : (double)micro / 1e6;
	return 0;
}

int
fleet_rec_region_state(const char *s, int *drained)
{
	int	d;

	if (s == NULL)
		return -1;
	if (strcmp(s, "up") == 0)
		d = 0;
	else if (strcmp(s, "drain") == 0)
		d = 1;
	else
		return -1;
	if (drained != NULL)
		*drained = d;
	return 0;
}

int
fleet_rec_maintenance(const char *s, double *out)
{
	unsigned long long	v;

	if (parse_uint(s, MAINT_MAX, &v) == -1 || v == 0)
		return -1;
	if (out != NULL)
		*out = (double)v;
	return 0;
}

/* "4", "6" or "4 6": the address families a server takes. */
int
fleet_rec_families(const char *s, unsigned *out)
{
	unsigned	f;

	if (s == NULL)
		return -1;
	if (strcmp(s, "4") == 0)
		f = FLEET_FAMILY_4;
	else if (strcmp(s, "6") == 0)
		f = FLEET_FAMILY_6;
	else if (strcmp(s, "4 6") == 0)
		f = FLEET_FAMILY_ANY;
	else
		return -1;
	if (out != NULL)
		*out = f;
	return 0;
}

const char *
fleet_rec_families_name(unsigned families)
{
	switch (families & FLEET_FAMILY_ANY) {
	case FLEET_FAMILY_4:
		return "4";
	case FLEET_FAMILY_6:
		return "6";
	default:
		return "4 6";
	}
}

size_t
fleet_rec_conf_fields(const struct server_conf *sc, const char *fields[4],
    const char *values[4], char wbuf[16])
{
	size_t	n = 0;

	snprintf(wbuf, 16, "%" PRIu32, sc->weight);
	fields[n] = "url";
	values[n++] = sc->url;
	fields[n] = "region";
	values[n++] = sc->region;
	fields[n] = "weight";
	values[n++] = wbuf;
	if (sc->families != NULL) {
		fields[n] = "families";
		values[n++] = sc->families;
	}
	return n;
}

void
fleet_rec_url_policy(const struct config *cfg, struct url_policy *pol)
{
	pol->allowed_hosts = cfg->redirect.has_allowed_hosts ?
	    &cfg->redirect.allowed_hosts : NULL;
	pol->public_names = &cfg->listen.public_names;
	pol->allow_http = cfg->redirect.allow_http;
}

static int
reject(struct reject *rej, enum reject_reason reason, const char *field,
    const char *value)
{
	if (rej != NULL) {
		rej->reason = reason;
		rej->field = field;
		rej->value = value;
	}
	return -1;
}

enum { F_URL, F_REGION, F_WEIGHT, F_STATE, F_FAMILIES, F__COUNT };

static const char *const field_names[F__COUNT] = {
	"url", "region", "weight", "state", "families"
};

/*
 * The checks run in a fixed order (id, unknown or repeated fields,
 * missing ones, then each value), so that a record with several faults
 * is always rejected for the same one and logged once.
 *
 * rej->field and rej->value point into fields[] and values[] (or at id),
 * except that REJECT_ID names the literal field "id" and REJECT_MISSING
 * the literal name of the missing field, with a NULL value.
 */
int
fleet_rec_server(const struct config *cfg, const char *id,
    const char *const *fields, const char *const *values, size_t n,
    struct server_record *out, struct reject *rej)
{
	struct url_policy	 pol;
	const char		*why;
	ssize_t			 at[F__COUNT];
	size_t			 i, f;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (rej != NULL)
		memset(rej, 0, sizeof(*rej));
	if (cfg == NULL || out == NULL || (n > 0 && (fields == NULL ||
	    values == NULL)))
		return reject(rej, REJECT_FIELD, NULL, NULL);
	if (id == NULL || !parse_is_name(id))
		return reject(rej, REJECT_ID, "id", id);
	for (f = 0; f < F__COUNT; f++)
		at[f] = -1;
	for (i = 0; i < n; i++) {
		for (f = 0; f < F__COUNT; f++)
			if (fields[i] != NULL &&
			    strcmp(fields[i], field_names[f]) == 0)
				break;
		if (f == F__COUNT || at[f] != -1)
			return reject(rej, REJECT_FIELD, fields[i], values[i]);
		at[f] = (ssize_t)i;
	}
	if (at[F_URL] == -1)
		return reject(rej, REJECT_MISSING, field_names[F_URL], NULL);
	if (at[F_REGION] == -1)
		return reject(rej, REJECT_MISSING, field_names[F_REGION],
		    NULL);

#define FIELD(f)	fields[at[f]], values[at[f]]
	fleet_rec_url_policy(cfg, &pol);
	if (values[at[F_URL]] == NULL || url_server_parse(values[at[F_URL]],
	    &pol, &out->url, &why) == -1) {
		if (rej != NULL)
			rej->why = why;
		return reject(rej, REJECT_URL, FIELD(F_URL));
	}
	if (values[at[F_REGION]] == NULL ||
	    !parse_is_name(values[at[F_REGION]]) ||
	    config_region_index(cfg, values[at[F_REGION]]) < 0) {
		fleet_rec_record_free(out);
		return reject(rej, REJECT_REGION, FIELD(F_REGION));
	}
	out->weight = WEIGHT_DEFAULT;
	if (at[F_WEIGHT] != -1 &&
	    fleet_rec_weight(values[at[F_WEIGHT]], &out->weight) == -1) {
		fleet_rec_record_free(out);
		return reject(rej, REJECT_WEIGHT, FIELD(F_WEIGHT));
	}
	out->state = SERVER_UP;
	if (at[F_STATE] != -1 &&
	    fleet_rec_state(values[at[F_STATE]], &out->state) == -1) {
		fleet_rec_record_free(out);
		return reject(rej, REJECT_STATE, FIELD(F_STATE));
	}
	out->families = FLEET_FAMILY_ANY;
	if (at[F_FAMILIES] != -1 &&
	    fleet_rec_families(values[at[F_FAMILIES]], &out->families) != 0) {
		fleet_rec_record_free(out);
		return reject(rej, REJECT_FIELD, FIELD(F_FAMILIES));
	}
#undef FIELD
	/* Both fit: parse_is_name() caps them at NAME_MAX_LEN. */
	snprintf(out->id, sizeof(out->id), "%s", id);
	snprintf(out->region, sizeof(out->region), "%s", values[at[F_REGION]]);
	return 0;
}

void
fleet_rec_record_free(struct server_record *r)
{
	if (r == NULL)
		return;
	url_server_free(&r->url);
}

int
fleet_rec_key(char *buf, size_t len, const char *prefix, const char *suffix,
    const char *id)
{
	int	n;

	if (buf == NULL || len == 0)
		return -1;
	n = snprintf(buf, len, "%s%s%s", prefix != NULL ? prefix : "",
	    suffix != NULL ? suffix : "", id != NULL ? id : "");
	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return -1;
	}
	return 0;
}
