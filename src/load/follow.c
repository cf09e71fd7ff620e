/*
 * --follow: each redirect's Location gets the real upload, SIZE bytes
 * of a fixed pseudo-random pattern (so every body has the same SHA-256,
 * computed once), sent by libcurl's multi interface in a thread of its
 * own: the redirect loop's schedule never waits for an upload.  The
 * sink's 201 is checked: bytes, sha256, and the server that answered
 * against the X-Upload-Server the router named.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <jansson.h>

#include "load.h"
#include "rng.h"

#define PATTERN		65536
#define RESP_MAX	4096

struct job {
	struct job	*next;
	char		*url;
	char		 server[64];
};

struct xfer {
	struct xfer		*prev, *next;	/* running transfers */
	CURL			*e;
	struct curl_slist	*hdrs;
	uint64_t		 off, start;
	char			 server[64];
	char			 resp[RESP_MAX];
	size_t			 rlen;
};

static pthread_mutex_t		 mu = PTHREAD_MUTEX_INITIALIZER;
static struct job		*head, **tailp = &head;
static int			 closing;
static uint64_t			 deadline;
static CURLM			*multi;
static pthread_t		 thread;
static int			 started;
static atomic_ulong		 active;
static struct xfer		*running_list;
static const struct load_opts	*opts;
static struct load_stats	*stats;
static uint8_t			 pattern[PATTERN];

static size_t
read_body(char *buf, size_t size, size_t n, void *arg)
{
	struct xfer	*x = arg;
	size_t		 want = size * n, done = 0, at, k;

	if (want > opts->body - x->off)
		want = opts->body - x->off;
	while (done < want) {
		at = (x->off + done) % PATTERN;
		k = PATTERN - at < want - done ? PATTERN - at : want - done;
		memcpy(buf + done, pattern + at, k);
		done += k;
	}
	x->off += done;
	return done;
}

static size_t
write_resp(char *buf, size_t size, size_t n, void *arg)
{
	struct xfer	*x = arg;
	size_t		 k = size * n;

	if (k > RESP_MAX - 1 - x->rlen)
		k = RESP_MAX - 1 - x->rlen;
	memcpy(x->resp + x->rlen, buf, k);
	x->rlen += k;
	return size * n;
}

/* The sink's JSON matches what was sent, to the server named. */
static int
body_ok(struct xfer *x)
{
	json_t		*j;
	const char	*sha, *server;
	json_int_t	 bytes;
	int		 ok;

	x->resp[x->rlen] = '\0';
	if ((j = json_loads(x->resp, 0, NULL)) == NULL)
		return 0;
	ok = json_unpack(j, "{s:s, s:I, s:s}", "sha256", &sha, "bytes",
	    &bytes, "server", &server) == 0 && (uint64_t)bytes == opts->body &&
	    strcmp(sha, stats->upload_sha256) == 0 &&
	    (x->server[0] == '\0' || strcmp(server, x->server) == 0);
	json_decref(j);
	return ok;
}

static enum load_err
curl_kind(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return ERR_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return ERR_TIMEOUT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return ERR_RESET;
	default:
		return ERR_OTHER;
	}
}

static void
complete(struct xfer *x, CURLcode rc)
{
	struct load_phase	*ph = &stats->upload;
	long			 code = 0;

	ph->requests++;
	histo_record(&ph->lat, load_now_ns() - x->start);
	if (rc != CURLE_OK)
		ph->err[curl_kind(rc)]++;
	else {
		curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &code);
		ph->answered++;
		if (code > 0 && code < LOAD_STATUS_MAX)
			ph->status[code]++;
		if (code != 201)
			ph->err[ERR_STATUS]++;
		else if (!body_ok(x))
			ph->err[ERR_BODY]++;
	}
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		running_list = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	curl_multi_remove_handle(multi, x->e);
	curl_easy_cleanup(x->e);
	curl_slist_free_all(x->hdrs);
	free(x);
	atomic_fetch_sub(&active, 1);
}

static void
add_job(struct job *j)
{
	struct xfer	*x = calloc(1, sizeof(*x));

	if (x == NULL || (x->e = curl_easy_init()) == NULL) {
		free(x);
		stats->upload.requests++;
		stats->upload.err[ERR_OTHER]++;
		atomic_fetch_sub(&active, 1);
		return;
	}
	memcpy(x->server, j->server, sizeof(x->server));
	x->start = load_now_ns();
	x->hdrs = curl_slist_append(NULL, opts->expect ?
	    "Expect: 100-continue" : "Expect:");
	x->hdrs = curl_slist_append(x->hdrs,
	    "Content-Type: application/octet-stream");
	curl_easy_setopt(x->e, CURLOPT_URL, j->url);
	curl_easy_setopt(x->e, CURLOPT_POST, 1L);
	if (strcmp(opts->method, "POST") != 0)
		curl_easy_setopt(x->e, CURLOPT_CUSTOMREQUEST, opts->method);
	curl_easy_setopt(x->e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)opts->body);
	curl_easy_setopt(x->e, CURLOPT_READFUNCTION, read_body);
	curl_easy_setopt(x->e, CURLOPT_READDATA, x);
	curl_easy_setopt(x->e, CURLOPT_WRITEFUNCTION, write_resp);
	curl_easy_setopt(x->e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->e, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->e, CURLOPT_TIMEOUT_MS, (long)(opts->timeout * 1000));
	curl_easy_setopt(x->e, CURLOPT_USERAGENT, "geo307-load");
	x->next = running_list;
	if (running_list != NULL)
		running_list->prev = x;
	running_list = x;
	curl_multi_add_handle(multi, x->e);
}

static void
drain_done(void)
{
	CURLMsg		*m;
	struct xfer	*x;
	int		 left;

	while ((m = curl_multi_info_read(multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		complete(x, m->data.result);
	}
}

/* Past the deadline: what still runs counts as timed out. */
static void
abort_all(void)
{
	while (running_list != NULL)
		complete(running_list, CURLE_OPERATION_TIMEDOUT);
}

static void *
follow_loop(void *arg)
{
	struct job	*list, *j;
	int		 running = 0, stop;
	uint64_t	 until;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&mu);
		list = head;
		head = NULL;
		tailp = &head;
		stop = closing;
		until = deadline;
		pthread_mutex_unlock(&mu);
		for (; list != NULL; list = j) {
			j = list->next;
			add_job(list);
			free(list->url);
			free(list);
		}
		curl_multi_perform(multi, &running);
		drain_done();
		if (stop && atomic_load(&active) == 0)
			break;
		if (stop && load_now_ns() > until) {
			abort_all();
			break;
		}
		curl_multi_poll(multi, NULL, 0, 100, NULL);
	}
	return NULL;
}

int
load_follow_start(const struct load_opts *o, struct load_stats *st,
    char *err, size_t errlen)
{
	gnutls_hash_hd_t	h;
	struct rng		r;
	uint8_t			d[32];
	uint64_t		left;
	size_t			i;

	opts = o;
	stats = st;
	rng_seed(&r, 307);
	for (i = 0; i < PATTERN; i += 8) {
		uint64_t v = rng_next(&r);

		memcpy(pattern + i, &v, 8);
	}
	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
		return -1;
	for (left = o->body; left > 0; left -= i) {
		i = left < PATTERN ? (size_t)left : PATTERN;
		gnutls_hash(h, pattern, i);
	}
	gnutls_hash_deinit(h, d);
	for (i = 0; i < 32; i++)
		snprintf(st->upload_sha256 + 2 * i, 3, "%02x", d[i]);
	if ((multi = curl_multi_init()) == NULL) {
		snprintf(err, errlen, "curl_multi_init failed");
		return -1;
	}
	curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)o->connections);
	if (pthread_create(&thread, NULL, follow_loop, NULL) != 0) {
		snprintf(err, errlen, "cannot start the upload thread");
		return -1;
	}
	started = 1;
	return 0;
}

void
load_follow_push(const char *location, const char *server)
{
	struct job	*j = calloc(1, sizeof(*j));

	if (j == NULL || (j->url = strdup(location)) == NULL) {
		free(j);
		return;
	}
	snprintf(j->server, sizeof(j->server), "%s", server);
	atomic_fetch_add(&active, 1);
	pthread_mutex_lock(&mu);
	*tailp = j;
	tailp = &j->next;
	pthread_mutex_unlock(&mu);
	curl_multi_wakeup(multi);
}

void
load_follow_finish(uint64_t deadline_ns)
{
	if (!started)
		return;
	pthread_mutex_lock(&mu);
	closing = 1;
	deadline = deadline_ns;
	pthread_mutex_unlock(&mu);
	curl_multi_wakeup(multi);
	pthread_join(thread, NULL);
	curl_multi_cleanup(multi);
	started = 0;
}

uint64_t
load_follow_active(void)
{
	return atomic_load(&active);
}
