/*
 * linger: the lingering close that libmicrohttpd lacks (RFC 9112 9.6).
 * When geo307 answers a request before reading its body, the connection
 * code keeps a duplicate of the socket; once libmicrohttpd has sent the
 * answer and closed its own descriptor, the duplicate is handed here and
 * one thread reads and discards what the client still sends, so the
 * client reads our 307 instead of a TCP reset.  See LIBRARY-NOTES.
 */
#ifndef GEO307_LINGER_H
#define GEO307_LINGER_H

#include <stddef.h>
#include <stdint.h>

struct linger_limits {
	uint64_t	max_bytes;	/* discard at most this much */
	double		idle;		/* no byte for this long: close */
	double		max_time;	/* total time bound */
	unsigned	max_connections;	/* 0: never linger */
	unsigned	per_ip;		/* 0: no per-client bound */
};

/*
 * Opaque handle.  The tag is also POSIX's SO_LINGER structure in
 * <sys/socket.h>: use it only as a pointer (linger.c keeps its state
 * under another tag).
 */
struct linger;

/* Start the linger thread.  NULL with a message on failure. */
struct linger	*linger_start(const struct linger_limits *lim, char *err,
		    size_t errlen);
/* New limits (SIGHUP); sockets already lingering keep their deadlines. */
void		 linger_set_limits(struct linger *l,
		    const struct linger_limits *lim);
/*
 * Reserve a slot for a connection from ipkey, before duplicating its
 * socket.  0 = reserved; -1 = over max_connections or per_ip, or stopping
 * (counted as LINGER_REFUSED; the caller accepts the reset).  A slot is
 * held from here until done() runs or linger_unreserve.
 */
int		 linger_reserve(struct linger *l, uint64_t ipkey);
/* Give back a reservation that will not be used. */
void		 linger_unreserve(struct linger *l, uint64_t ipkey);
/*
 * Hand over the duplicate fd of a reserved connection.  The linger thread
 * owns fd from now on, closes it, and then calls done(arg) (from its own
 * thread) so the caller can release per-connection accounting.  Once
 * linger_stop has begun, fd is closed and done(arg) called before this
 * returns.  done may call linger_adopt/reserve/unreserve, not linger_stop.
 */
void		 linger_adopt(struct linger *l, int fd, uint64_t ipkey,
		    void (*done)(void *), void *arg);
/*
 * Inside a done() callback: how that socket's linger ended (enum
 * linger_outcome) and the bytes it discarded; -1 and 0 elsewhere.
 */
void		 linger_last_outcome(int *outcome, uint64_t *bytes);
unsigned	 linger_active(struct linger *l);
/*
 * Stop: let lingering sockets run for at most grace seconds, then close
 * them all (each still calls its done) and join the thread.  Frees l: stop
 * the callers (MHD_stop_daemon) first; adoptions racing with this call
 * are closed at once.
 */
void		 linger_stop(struct linger *l, double grace);

#endif
