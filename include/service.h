/*
 * service: what makes geo307 behave as a daemon among others.
 * - the pid file, locked with flock(2) for the process's life: the lock,
 *   not the PID written in it, says whether an instance is running, so a
 *   stale file left by a crash never blocks a start;
 * - the "is this address free?" probe, a bind without SO_REUSEPORT
 *   (with it, a second instance would share the port silently);
 * - systemd's readiness protocol (sd_notify), spoken directly on
 *   NOTIFY_SOCKET.
 */
#ifndef GEO307_SERVICE_H
#define GEO307_SERVICE_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

struct pidfile {
	int	 fd;		/* -1: none */
	char	*path;
	int	 locked;	/* we hold the lock and wrote our PID */
	pid_t	 holder;	/* the running instance (when not locked) */
};

/*
 * Open path and try its lock.  Locked by another process: with replace,
 * 0 and pf->holder is its PID; without, -1 and a message naming the PID.
 * Free: the lock is ours and our PID is written.
 */
int	service_pidfile_open(struct pidfile *pf, const char *path, int replace,
	    char *err, size_t errlen);
/*
 * Hand-over: take the lock once the old instance has let it go.  1 when
 * it is ours now, 0 not yet; never blocks.
 */
int	service_pidfile_try_take(struct pidfile *pf);
/* Release; a file still ours is removed. */
void	service_pidfile_close(struct pidfile *pf);

/*
 * 0 when nothing listens on sa; -1 with "ADDR is already in use" (or the
 * bind error) in err.
 */
int	service_addr_free(const struct sockaddr *sa, socklen_t salen,
	    const char *text, char *err, size_t errlen);

/*
 * Hand-over: make the kernel give every new connection on this
 * SO_REUSEPORT listener to it, not to the instance being replaced (see
 * service.c).  0, or -1 with errno.
 */
int	service_steer_here(int fd);

/*
 * One sd_notify datagram ("READY=1\nSTATUS=..."); nothing without
 * NOTIFY_SOCKET.  Failures are ignored: systemd times out on its own.
 */
void	service_notify(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* RELOADING=1 with the MONOTONIC_USEC newer systemd versions want. */
void	service_notify_reloading(void);

#endif
