/*
 * Validation, always by the daemon's own functions.  With -c the config
 * supplies the regions and the url policy, exactly as the daemon reads
 * them.  Without it only the grammar can be checked: the record goes
 * through fleet_rec_server() against a config that knows the record's own
 * region (if its name is valid), any host and http:// as well as
 * https://, so ids, urls, weights and states are still judged by the
 * same code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

int
ctl_check_id(const char *id)
{
	char	*p;

	if (parse_is_name(id))
		return CTL_OK;
	p = ctl_printable(id);
	ctl_err(CTL_FAIL, "bad server id \"%s\" (a letter or digit, then "
	    "letters, digits, '.', '_' or '-'; at most %d)", p ? p : "",
	    NAME_MAX_LEN);
	free(p);
	return CTL_FAIL;
}

int
ctl_check_region(struct ctl *c, const char *region)
{
	char	*p;
	int	 rc = CTL_OK;

	p = ctl_printable(region);
	if (!parse_is_name(region))
		rc = ctl_err(CTL_FAIL, "bad region name \"%s\" (a letter or "
		    "digit, then letters, digits, '.', '_' or '-'; at most %d)",
		    p ? p : "", NAME_MAX_LEN);
	else if (c->cfg == NULL)
		ctl_note_needs_config(c);
	else if (config_region_index(c->cfg, region) < 0)
		rc = ctl_err(CTL_FAIL, "unknown region \"%s\" (no [region %s] "
		    "in %s)", p ? p : "", p ? p : "", c->cfgpath);
	free(p);
	return rc;
}

int
ctl_server_check(struct ctl *c, const char *id, const char *const *fields,
    const char *const *values, size_t n, struct server_record *out,
    struct reject *rej)
{
	struct config		g;
	struct region_conf	r;
	const char		*region = NULL;
	size_t			i;

	if (c->cfg != NULL)
		return fleet_rec_server(c->cfg, id, fields, values, n, out, rej);
	memset(&g, 0, sizeof(g));
	memset(&r, 0, sizeof(r));
	for (i = 0; i < n; i++)
		if (strcmp(fields[i], "region") == 0)
			region = values[i];
	if (region != NULL && parse_is_name(region)) {
		snprintf(r.name, sizeof(r.name), "%s", region);
		r.is_default = 1;
		g.regions = &r;
		g.nregions = 1;
	}
	g.redirect.allow_http = 1;
	return fleet_rec_server(&g, id, fields, values, n, out, rej);
}

/* Why the url was rejected, through the same parser and policy. */
static const char *
url_reason(struct ctl *c, const char *url)
{
	struct config		g;
	struct url_policy	pol;
	struct server_url	u;
	const char		*why = NULL;

	if (c->cfg != NULL)
		fleet_rec_url_policy(c->cfg, &pol);
	else {
		memset(&g, 0, sizeof(g));
		g.redirect.allow_http = 1;
		fleet_rec_url_policy(&g, &pol);
	}
	if (url_server_parse(url, &pol, &u, &why) == 0) {
		url_server_free(&u);
		return "rejected";
	}
	return url_why_text(why);
}

void
ctl_reject_text(struct ctl *c, const struct reject *rej, char *buf,
    size_t len)
{
	char	*field, *v;

	field = ctl_printable(rej->field ? rej->field : "");
	v = ctl_printable(rej->value ? rej->value : "");
	if (rej->reason == REJECT_URL && rej->value != NULL)
		/* No echo: a url with userinfo may carry a password. */
		snprintf(buf, len, "bad url: %s", url_reason(c, rej->value));
	else if (rej->reason == REJECT_MISSING)
		snprintf(buf, len, "no %s field", field && field[0] ? field :
		    "required");
	else if (rej->reason == REJECT_FIELD)
		snprintf(buf, len, "unknown or bad field \"%s\"",
		    field ? field : "");
	else if (rej->reason == REJECT_REGION && c->cfg != NULL)
		snprintf(buf, len, "region \"%s\" is not in %s", v ? v : "",
		    c->cfgpath);
	else
		snprintf(buf, len, "%s: bad %s \"%s\"",
		    fleet_rec_reject_reason_name(rej->reason), field && field[0] ? field :
		    "value", v ? v : "");
	free(field);
	free(v);
}
