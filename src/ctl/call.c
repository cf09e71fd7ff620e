/*
 * One Redis command at a time, with its failures turned into a message:
 * a dead or slow connection, or an error reply.  Nothing printed here
 * ever holds the password (hiredis never puts it into errstr, and the
 * AUTH is redis_conn's).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "escape.h"

/* The command's name: the first word of its format. */
static void
command_name(const char *fmt, char *buf, size_t len)
{
	size_t	i;

	for (i = 0; i + 1 < len && fmt[i] != '\0' && fmt[i] != ' '; i++)
		buf[i] = fmt[i];
	buf[i] = '\0';
}

/* The connection failed: say why, in words an operator can act on. */
static int
connection_error(struct ctl *c, const char *what)
{
	const char	*why = c->rc->errstr;

	if (c->rc->err == REDIS_ERR_IO && (errno == EAGAIN ||
	    errno == EWOULDBLOCK || errno == ETIMEDOUT))
		why = "no answer (timed out)";
	else if (c->rc->err == REDIS_ERR_EOF)
		why = "connection closed by the server";
	return ctl_err(CTL_REDIS, "redis: %s: %s", what, why[0] ? why :
	    "connection failed");
}

int
ctl_reply_error(struct ctl *c, redisReply *r, const char *what)
{
	char	*msg;

	if (r == NULL)
		return connection_error(c, what);
	if (r->type != REDIS_REPLY_ERROR)
		return CTL_OK;
	msg = ctl_printable(r->str);
	ctl_err(CTL_REDIS, "redis: %s: %s", what, msg ? msg : "error");
	free(msg);
	return CTL_REDIS;
}

redisReply *
ctl_vcommand(struct ctl *c, const char *fmt, va_list ap)
{
	redisReply	*r;
	char		 name[32];

	command_name(fmt, name, sizeof(name));
	r = redis_conn_vcommand(c->rc, fmt, ap);
	if (ctl_reply_error(c, r, name) != CTL_OK) {
		if (r != NULL)
			freeReplyObject(r);
		return NULL;
	}
	return r;
}

redisReply *
ctl_command(struct ctl *c, const char *fmt, ...)
{
	redisReply	*r;
	va_list		 ap;

	va_start(ap, fmt);
	r = ctl_vcommand(c, fmt, ap);
	va_end(ap);
	return r;
}

/*
 * A copy fit for a terminal and for JSON, escaped as a log field is
 * (escape_log): " and \ backslashed, bytes outside printable ASCII as
 * \xHH.  NULL when out of memory.
 */
char *
ctl_printable(const char *s)
{
	size_t	 n;
	char	*out;

	if (s == NULL)
		return NULL;
	n = escape_log(NULL, 0, s, strlen(s)) + 1;
	if ((out = malloc(n)) != NULL)
		escape_log(out, n, s, strlen(s));
	return out;
}
