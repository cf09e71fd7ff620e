/*
 * Logging.  Errors go straight to stderr: they are rare and must not be
 * lost.  Access lines go through one single-producer ring per request
 * thread, drained by a writer thread every few milliseconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define RING_SIZE	(256 * 1024)	/* power of two */

struct ring {
	struct ring		*next;
	_Atomic size_t		 head;		/* written by the producer */
	_Atomic size_t		 tail;		/* written by the writer */
	char			 buf[RING_SIZE];
};

static _Atomic(struct ring *)	 rings;
static _Thread_local struct ring *my_ring;
static pthread_t		 writer;
static atomic_int		 running;
static atomic_int		 reopen_wanted;
static int			 log_fd = -1;
static char			*log_path;	/* NULL = stdout */
static _Atomic unsigned long	 dropped;

static void
vlog(const char *level, const char *fmt, va_list ap)
{
	char		 line[1024], ts[32];
	struct tm	 tm;
	time_t		 now = time(NULL);
	int		 n;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line), "%s geo307[%d] %s: ", ts,
	    (int)getpid(), level);
	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	n = strlen(line);
	line[n++] = '\n';
	/* One write(2) per line: lines from threads do not interleave. */
	(void)!write(STDERR_FILENO, line, n);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog("info", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog("warning", fmt, ap);
	va_end(ap);
}

void
log_err(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog("error", fmt, ap);
	va_end(ap);
}

void
log_usage(const char *prog, int code, const char *fmt, ...)
{
	char	buf[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s (see --help)\n", prog, buf);
	exit(code);
}

static int
open_target(void)
{
	int	fd;

	if (log_path == NULL)
		return dup(STDOUT_FILENO);
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	return fd;
}

static struct ring *
ring_get(void)
{
	struct ring	*r, *head;

	if ((r = my_ring) != NULL)
		return r;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	head = atomic_load(&rings);
	do {
		r->next = head;
	} while (!atomic_compare_exchange_weak(&rings, &head, r));
	return my_ring = r;
}

int
log_access_enabled(void)
{
	return atomic_load(&running);
}

void
log_access_write(const char *line, size_t len)
{
	struct ring	*r;
	size_t		 head, tail, i;

	if (!atomic_load_explicit(&running, memory_order_relaxed) ||
	    (r = ring_get()) == NULL)
		return;
	head = atomic_load_explicit(&r->head, memory_order_relaxed);
	tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (RING_SIZE - (head - tail) < len + 1) {
		atomic_fetch_add(&dropped, 1);
		return;
	}
	for (i = 0; i < len; i++)
		r->buf[(head + i) & (RING_SIZE - 1)] = line[i];
	r->buf[(head + len) & (RING_SIZE - 1)] = '\n';
	atomic_store_explicit(&r->head, head + len + 1, memory_order_release);
}

static void
drain(void)
{
	struct ring	*r;
	size_t		 head, tail, off, n;
	ssize_t		 w;

	for (r = atomic_load(&rings); r != NULL; r = r->next) {
		head = atomic_load_explicit(&r->head, memory_order_acquire);
		tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
		while (tail != head) {
			off = tail & (RING_SIZE - 1);
			n = head - tail;
			if (n > RING_SIZE - off)
				n = RING_SIZE - off;
			w = write(log_fd, r->buf + off, n);
			if (w <= 0) {
				if (w < 0 && errno == EINTR)
					continue;
				/* A broken log must not stall requests. */
				tail = head;
				break;
			}
			tail += w;
		}
		atomic_store_explicit(&r->tail, tail, memory_order_release);
	}
}

static void *
writer_main(void *arg)
{
	struct timespec	ts = { 0, 20 * 1000 * 1000 };
	unsigned long	d, reported = 0;
	int		fd;

	(void)arg;
	while (atomic_load(&running)) {
		nanosleep(&ts, NULL);
		if (atomic_exchange(&reopen_wanted, 0)) {
			if ((fd = open_target()) >= 0) {
				close(log_fd);
				log_fd = fd;
			} else
				log_err("access log %s: %s", log_path,
				    strerror(errno));
		}
		drain();
		if ((d = atomic_load(&dropped)) != reported) {
			log_warn("access log: %lu lines dropped (writer too "
			    "slow)", d - reported);
			reported = d;
		}
	}
	drain();
	return NULL;
}

int
log_access_start(const char *target, char *err, size_t errlen)
{
	if (target == NULL)
		return 0;
	if (strcmp(target, "stdout") != 0 && (log_path = strdup(target)) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((log_fd = open_target()) < 0) {
		snprintf(err, errlen, "access log %s: %s", target,
		    strerror(errno));
		free(log_path);
		log_path = NULL;
		return -1;
	}
	atomic_store(&running, 1);
	if (pthread_create(&writer, NULL, writer_main, NULL) != 0) {
		atomic_store(&running, 0);
		snprintf(err, errlen, "access log: cannot start thread");
		return -1;
	}
	return 0;
}

unsigned long
log_access_dropped(void)
{
	return atomic_load(&dropped);
}

void
log_access_reopen(void)
{
	atomic_store(&reopen_wanted, 1);
}

void
log_access_stop(void)
{
	if (!atomic_exchange(&running, 0))
		return;
	pthread_join(writer, NULL);
	close(log_fd);
	log_fd = -1;
	free(log_path);
	log_path = NULL;
}
