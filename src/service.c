/*
 * service: pid file, address probe, sd_notify (see service.h).
 *
 * sd_notify is the documented datagram protocol (sd_notify(3), "the
 * protocol" section): one AF_UNIX datagram to $NOTIFY_SOCKET, '@' meaning
 * the abstract namespace.  A dozen lines, so geo307 does not link
 * libsystemd (and its dependencies) for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

#include "service.h"

#define HOLDER_WAIT_MS	1000	/* a holder that has not written its PID yet */

static int
write_pid(int fd)
{
	char	buf[32];
	int	n;

	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, n, 0) != n)
		return -1;
	return 0;
}

/* The PID the holder wrote; it may be a moment behind its lock. */
static pid_t
read_holder(int fd)
{
	struct timespec	ts = { 0, 20 * 1000 * 1000 };
	char		buf[32];
	ssize_t		n;
	long		v;
	int		waited;
	char		*end;

	for (waited = 0; waited <= HOLDER_WAIT_MS; waited += 20) {
		if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) > 0) {
			buf[n] = '\0';
			v = strtol(buf, &end, 10);
			if (v > 1 && (*end == '\n' || *end == '\0'))
				return (pid_t)v;
		}
		nanosleep(&ts, NULL);
	}
	return 0;
}

static int
open_path(const char *path)
{
	return open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
}

/*
 * The lock is ours; make sure it is on the file the path names now (the
 * previous holder removes its file when it exits) and write our PID.
 */
static int
claim(struct pidfile *pf)
{
	struct stat	a, b;
	int		fd, tries;

	for (tries = 0; tries < 8; tries++) {
		if (fstat(pf->fd, &a) == 0 && stat(pf->path, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			if (write_pid(pf->fd) != 0)
				return -1;
			pf->locked = 1;
			return 1;
		}
		if ((fd = open_path(pf->path)) < 0)
			return -1;
		close(pf->fd);
		pf->fd = fd;
		if (flock(fd, LOCK_EX | LOCK_NB) != 0)
			return 0;	/* someone else was faster */
	}
	return -1;
}

int
service_pidfile_open(struct pidfile *pf, const char *path, int replace, char *err,
    size_t errlen)
{
	memset(pf, 0, sizeof(*pf));
	pf->fd = -1;
	if (path == NULL)
		return 0;
	if ((pf->path = strdup(path)) == NULL ||
	    (pf->fd = open_path(path)) < 0) {
		snprintf(err, errlen, "pid file %s: %s", path,
		    strerror(errno));
		service_pidfile_close(pf);
		return -1;
	}
	if (flock(pf->fd, LOCK_EX | LOCK_NB) == 0) {
		if (claim(pf) == 1)
			return 0;
		snprintf(err, errlen, "pid file %s: cannot write: %s", path,
		    strerror(errno));
		service_pidfile_close(pf);
		return -1;
	}
	if (errno != EWOULDBLOCK) {
		snprintf(err, errlen, "pid file %s: flock: %s", path,
		    strerror(errno));
		service_pidfile_close(pf);
		return -1;
	}
	pf->holder = read_holder(pf->fd);
	if (replace && pf->holder > 0)
		return 0;
	if (pf->holder > 0)
		snprintf(err, errlen, "already running: pid file %s is locked "
		    "by PID %ld (use --replace for a hand-over)", path,
		    (long)pf->holder);
	else
		snprintf(err, errlen, "pid file %s is locked by a process "
		    "that wrote no PID in it", path);
	service_pidfile_close(pf);
	return -1;
}

int
service_pidfile_try_take(struct pidfile *pf)
{
	if (pf->fd < 0 || pf->locked)
		return 1;
	if (flock(pf->fd, LOCK_EX | LOCK_NB) != 0)
		return 0;
	return claim(pf) == 1;
}

void
service_pidfile_close(struct pidfile *pf)
{
	struct stat	a, b;

	if (pf->fd >= 0 && pf->locked && fstat(pf->fd, &a) == 0 &&
	    stat(pf->path, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		(void)unlink(pf->path);
	if (pf->fd >= 0)
		close(pf->fd);	/* releases the lock */
	free(pf->path);
	memset(pf, 0, sizeof(*pf));
	pf->fd = -1;
}

int
service_addr_free(const struct sockaddr *sa, socklen_t salen,
    const char *text, char *err, size_t errlen)
{
	int	fd, one = 1, e;

	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "%s: socket: %s", text, strerror(errno));
		return -1;
	}
	/*
	 * SO_REUSEADDR only: connections in TIME_WAIT are no instance, but
	 * a listener, even one with SO_REUSEPORT, makes this bind fail.
	 */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		    sizeof(one));
	if (bind(fd, sa, salen) == 0) {
		close(fd);
		return 0;
	}
	e = errno;
	close(fd);
	if (e == EADDRINUSE)
		snprintf(err, errlen, "address %s is already in use by another "
		    "process", text);
	else
		snprintf(err, errlen, "address %s: bind: %s", text,
		    strerror(e));
	return -1;
}

/*
 * Without this, the kernel spreads new connections over both instances
 * of the SO_REUSEPORT group by hash until the old one closes its
 * listener, and closing a listener resets the connections still in its
 * accept queue: a hand-over under load would refuse a few.  A classic
 * BPF program (allowed without privileges) on the group returns the
 * index of the socket to use; the running instance has one socket per
 * address, index 0, so the newcomer is index 1.  Once the old one has
 * gone, 1 is out of range and the kernel falls back to its hash over
 * what is left (this socket).  The old instance therefore only has to
 * finish what it had already accepted.
 */
int
service_steer_here(int fd)
{
	struct sock_filter	code[] = { BPF_STMT(BPF_RET | BPF_K, 1) };
	struct sock_fprog	prog = { .len = 1, .filter = code };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog,
	    sizeof(prog));
}

static void
notify_send(const char *msg, size_t len)
{
	const char		*p = getenv("NOTIFY_SOCKET");
	struct sockaddr_un	 sun;
	socklen_t		 sl;
	size_t			 pl;
	int			 fd;

	if (p == NULL || (p[0] != '/' && p[0] != '@') ||
	    (pl = strlen(p)) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, p, pl);
	if (p[0] == '@')
		sun.sun_path[0] = '\0';
	sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + pl +
	    (p[0] == '/'));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	(void)sendto(fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&sun, sl);
	close(fd);
}

void
service_notify(const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n > 0)
		notify_send(msg, (size_t)n < sizeof(msg) ? (size_t)n :
		    sizeof(msg) - 1);
}

void
service_notify_reloading(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	service_notify("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
}
