/*
 * What the router predicts: for every address that got redirects, the
 * admin /route?ip= probabilities (computed by the router's one decision
 * code), weighted by how many redirects that address got.  The region of
 * each server comes from the same answers.  Asked after the run, so for
 * a fleet whose loads move during the run it is the end state's view.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "load.h"

struct buf {
	char	*p;
	size_t	 n;
};

static size_t
collect(char *data, size_t size, size_t n, void *arg)
{
	struct buf	*b = arg;
	char		*p;

	if (b->n + size * n > (8u << 20))
		return 0;		/* a /route answer is a few KiB */
	if ((p = realloc(b->p, b->n + size * n + 1)) == NULL)
		return 0;
	memcpy(p + b->n, data, size * n);
	b->p = p;
	b->n += size * n;
	b->p[b->n] = '\0';
	return size * n;
}

/* GET admin/route?ip=ip; the parsed answer, or NULL with a message. */
static json_t *
route(CURL *e, const char *admin, const char *ip, char *err, size_t errlen)
{
	struct buf	 b = { NULL, 0 };
	char		 url[1024];
	long		 code = 0;
	CURLcode	 rc;
	json_t		*j = NULL;

	snprintf(url, sizeof(url), "%s/route?ip=%s", admin, ip);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	if ((rc = curl_easy_perform(e)) != CURLE_OK)
		snprintf(err, errlen, "%s: %s", url, curl_easy_strerror(rc));
	else if (curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code),
	    code != 200)
		snprintf(err, errlen, "%s: status %ld", url, code);
	else if ((j = json_loads(b.p != NULL ? b.p : "", 0, NULL)) == NULL)
		snprintf(err, errlen, "%s: not JSON", url);
	free(b.p);
	return j;
}

/* Add weight x probability of each candidate of one answer. */
static void
add_candidates(struct load_stats *st, json_t *j, double weight, double *acc)
{
	json_t			*c, *cands = json_object_get(j, "candidates");
	struct load_server	*s;
	const char		*id, *region;
	double			 p;
	size_t			 i;

	json_array_foreach(cands, i, c) {
		if (json_unpack(c, "{s:s, s:s, s:F}", "id", &id, "region",
		    &region, "probability", &p) != 0)
			continue;
		if ((s = load_server_find(st, id, strlen(id))) == NULL)
			continue;
		snprintf(s->region, sizeof(s->region), "%s", region);
		acc[s - st->servers] += weight * p;
	}
}

int
load_predict(const struct load_opts *o, const struct load_pool *p,
    struct load_stats *st, char *err, size_t errlen)
{
	CURL		*e;
	json_t		*j;
	double		*acc, total = 0;
	size_t		 i, n = p->n > 0 ? p->n : 1;
	int		 rc = 0;

	if ((acc = calloc(LOAD_SERVERS_MAX, sizeof(*acc))) == NULL ||
	    (e = curl_easy_init()) == NULL) {
		free(acc);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	for (i = 0; i < n && rc == 0; i++) {
		double w = p->n > 0 ? (double)p->v[i].routed :
		    (double)st->redirect.status[307] + st->redirect.status[308];

		if (w == 0)
			continue;
		if ((j = route(e, o->admin, p->n > 0 ? p->v[i].text :
		    "127.0.0.1", err, errlen)) == NULL) {
			rc = -1;
			break;
		}
		add_candidates(st, j, w, acc);
		total += w;
		json_decref(j);
	}
	for (i = 0; i < st->nservers && rc == 0; i++)
		st->servers[i].predicted = total > 0 ? acc[i] / total : 0;
	st->predicted = rc == 0;
	curl_easy_cleanup(e);
	free(acc);
	return rc;
}

/* Before the run: the admin listener answers /route. */
int
load_admin_check(const char *admin, char *err, size_t errlen)
{
	CURL	*e = curl_easy_init();
	json_t	*j;

	if (e == NULL)
		return -1;
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	j = route(e, admin, "127.0.0.1", err, errlen);
	curl_easy_cleanup(e);
	json_decref(j);
	return j != NULL ? 0 : -1;
}
