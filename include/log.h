/*
 * log: the error log (stderr, one line per event) and the access log.
 * Access lines are written by request threads into per-thread lock-free
 * rings; one thread drains them to the file, so the request path never
 * blocks on a disk or a full pipe.  A full ring drops the line (counted).
 */
#ifndef GEO307_LOG_H
#define GEO307_LOG_H

#include <stdarg.h>
#include <stddef.h>

void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: what (see --help)" on stderr, then exit(code): a bad flag. */
void	log_usage(const char *prog, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4), noreturn));

/*
 * Start the access log: target "stdout", a path, or NULL (off).
 * 0 on success, -1 with a message in err.
 */
int	log_access_start(const char *target, char *err, size_t errlen);
/* Append one line (without newline) from a request thread. */
void	log_access_write(const char *line, size_t len);
int	log_access_enabled(void);
/* Lines dropped so far (geo307_log_dropped_total). */
unsigned long	log_access_dropped(void);
/* Reopen the file (SIGUSR1, after rotation). */
void	log_access_reopen(void);
/* Flush what is queued and stop the writer thread. */
void	log_access_stop(void);

#endif
