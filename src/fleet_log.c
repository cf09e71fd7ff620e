/*
 * fleet_log: the fleet change log line (see fleet_log.h).  A summary of
 * the last snapshot (ids in sorted order, weight, state, drained region
 * names) is all that is kept: the snapshot itself is freed by its source
 * after the next swap.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "fleet_log.h"
#include "fleet_rec.h"
#include "log.h"
#include "region.h"
#include "service.h"

#define DIFF_MAX	768	/* bytes of "what changed" in one line */

struct fl_server {
	char			id[NAME_MAX_LEN + 1];
	uint32_t		weight;
	enum server_state	state;
};

struct fl_snap {
	int			 have;
	enum fleet_source	 source;
	uint64_t		 version;
	int			 maintenance;
	struct fl_server	*s;		/* sorted by id */
	size_t			 n;
	char			(*drained)[NAME_MAX_LEN + 1];
	size_t			 ndrained;
};

struct diff {
	char	buf[DIFF_MAX];
	size_t	len;
	size_t	items, left_out;
};

static void
snap_free(struct fl_snap *sn)
{
	free(sn->s);
	free(sn->drained);
	memset(sn, 0, sizeof(*sn));
}

static int
snap_take(struct fl_snap *sn, const struct fleet *f)
{
	const struct fleet_server	*s;
	size_t				 i;

	memset(sn, 0, sizeof(*sn));
	sn->have = 1;
	sn->source = f->source;
	sn->version = f->version;
	sn->maintenance = f->maintenance;
	if ((sn->s = calloc(f->nservers + 1, sizeof(*sn->s))) == NULL ||
	    (sn->drained = calloc(f->nregions + 1,
	    sizeof(*sn->drained))) == NULL) {
		snap_free(sn);
		return -1;
	}
	for (i = 0; i < f->nservers; i++) {
		s = &f->servers[f->by_id[i]];
		memcpy(sn->s[i].id, s->id, sizeof(s->id));
		sn->s[i].weight = s->weight;
		sn->s[i].state = s->state;
	}
	sn->n = f->nservers;
	for (i = 0; i < f->nregions && i < f->rm->n; i++)
		if (f->regions[i].drained)
			memcpy(sn->drained[sn->ndrained++],
			    f->rm->regions[i].name, NAME_MAX_LEN + 1);
	return 0;
}

static void say(struct diff *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(struct diff *d, const char *fmt, ...)
{
	va_list	ap;
	int	w;

	d->items++;
	if (d->left_out == 0) {
		va_start(ap, fmt);
		w = vsnprintf(d->buf + d->len, sizeof(d->buf) - d->len, fmt,
		    ap);
		va_end(ap);
		if (w >= 0 && d->len + (size_t)w < sizeof(d->buf) - 32) {
			d->len += (size_t)w;
			return;
		}
		d->buf[d->len] = '\0';	/* does not fit: cut before it */
	}
	d->left_out++;
}

static void
diff_servers(struct diff *d, const struct fl_snap *o, const struct fl_snap *n)
{
	char	ow[16], nw[16];
	size_t	i = 0, j = 0;
	int	c;

	while (i < o->n || j < n->n) {
		c = i == o->n ? 1 : j == n->n ? -1 :
		    strcmp(o->s[i].id, n->s[j].id);
		if (c < 0) {
			say(d, "; removed %s", o->s[i++].id);
			continue;
		}
		if (c > 0) {
			say(d, "; added %s (%s)", n->s[j].id,
			    fleet_rec_state_name(n->s[j].state));
			j++;
			continue;
		}
		if (o->s[i].state != n->s[j].state)
			say(d, "; %s state %s -> %s", n->s[j].id,
			    fleet_rec_state_name(o->s[i].state),
			    fleet_rec_state_name(n->s[j].state));
		if (o->s[i].weight != n->s[j].weight) {
			snprintf(ow, sizeof(ow), "%u", o->s[i].weight);
			snprintf(nw, sizeof(nw), "%u", n->s[j].weight);
			say(d, "; %s weight %s -> %s", n->s[j].id, ow, nw);
		}
		i++;
		j++;
	}
}

static int
has_region(const struct fl_snap *sn, const char *name)
{
	size_t	i;

	for (i = 0; i < sn->ndrained; i++)
		if (strcmp(sn->drained[i], name) == 0)
			return 1;
	return 0;
}

static void
diff_all(struct diff *d, const struct fl_snap *o, const struct fl_snap *n)
{
	size_t	i;

	if (!o->have)
		return;
	if (o->source != n->source)
		say(d, "; source %s -> %s", fleet_source_name(o->source),
		    fleet_source_name(n->source));
	if (o->maintenance != n->maintenance)
		say(d, "; maintenance %s", n->maintenance ? "on" : "off");
	diff_servers(d, o, n);
	for (i = 0; i < n->ndrained; i++)
		if (!has_region(o, n->drained[i]))
			say(d, "; region %s drained", n->drained[i]);
	for (i = 0; i < o->ndrained; i++)
		if (!has_region(n, o->drained[i]))
			say(d, "; region %s undrained", o->drained[i]);
}

static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static struct fl_snap	 last;
static char		 last_status[256] = "no fleet snapshot yet";

/* Under lock: compare f with the last summary; 1 when logged. */
static int
check_one(const struct fleet *f)
{
	struct fl_snap	 n;
	struct diff	 d = { .len = 0 };
	char		 more[48] = "";
	size_t		 routable;

	if (snap_take(&n, f) != 0)
		return 0;
	diff_all(&d, &last, &n);
	if (last.have && d.items == 0 && last.version == n.version) {
		/* A new snapshot of the same fleet (loads): nothing to say. */
		snap_free(&last);
		last = n;
		return 0;
	}
	routable = fleet_routable(f, clock_mono());
	snprintf(last_status, sizeof(last_status), "fleet from %s, version "
	    "%llu, %zu of %zu servers routable%s", fleet_source_name(f->source),
	    (unsigned long long)f->version, routable, f->nservers,
	    f->maintenance ? ", maintenance" : "");
	if (d.left_out > 0)
		snprintf(more, sizeof(more), "; and %zu more changes",
		    d.left_out);
	log_info("%s%s%s%s", last_status, last.have ? "" :
	    " (first snapshot)", d.buf, more);
	snap_free(&last);
	last = n;
	return 1;
}

void
fleet_log_note(const struct fleet *f)
{
	char	status[sizeof(last_status)];
	int	said;

	if (f == NULL)
		return;
	pthread_mutex_lock(&lock);
	if ((said = check_one(f)))
		memcpy(status, last_status, sizeof(status));
	pthread_mutex_unlock(&lock);
	if (said)
		service_notify("STATUS=%s", status);
}

void
fleet_log_status(char *buf, size_t len)
{
	pthread_mutex_lock(&lock);
	snprintf(buf, len, "%s", last_status);
	pthread_mutex_unlock(&lock);
}

void
fleet_log_reset(void)
{
	pthread_mutex_lock(&lock);
	snap_free(&last);
	pthread_mutex_unlock(&lock);
}
