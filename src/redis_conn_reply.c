/*
 * redis_conn_reply: reading replies with a bound on what one may cost
 * (the limits are in redis_conn.h).  hiredis allocates whatever a length
 * in the stream asks for: "*2147483647" is a calloc of 16 GB before a
 * single element arrived, and a bulk string is buffered until all of its
 * announced bytes are in.  So every context gets a reader whose object
 * functions count the elements of the reply being built and refuse past
 * the bound (the objects themselves are still hiredis's, so
 * freeReplyObject frees them as always), and the reads are ours: they
 * count the bytes taken from the socket while a reply is incomplete.
 *
 * The count lives in thread-local storage: a context is used by one
 * thread at a time (hiredis contexts are not thread-safe), and a thread
 * waits for one reply at a time.  It starts again with every reply.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "redis_conn.h"

static __thread size_t	budget_elements;	/* of the reply being read */
static __thread size_t	budget_bytes;
static __thread int	budget_refused;		/* an array was refused */

static redisReplyObjectFunctions	*hiredis_fn;	/* hiredis's own */
static pthread_once_t			 hiredis_once = PTHREAD_ONCE_INIT;

static void
budget_reset(void)
{
	budget_elements = budget_bytes = 0;
	budget_refused = 0;
}

static void *
bounded_string(const redisReadTask *t, char *s, size_t len)
{
	return hiredis_fn->createString(t, s, len);
}

/* NULL makes the reader fail ("out of memory"); the context says why. */
static void *
bounded_array(const redisReadTask *t, int elements)
{
	if (elements < 0 || (size_t)elements > REDISCONN_ELEMENTS_MAX -
	    budget_elements) {
		budget_refused = 1;
		return NULL;
	}
	budget_elements += (size_t)elements;
	return hiredis_fn->createArray(t, elements);
}

static void *
bounded_integer(const redisReadTask *t, long long v)
{
	return hiredis_fn->createInteger(t, v);
}

static void *
bounded_nil(const redisReadTask *t)
{
	return hiredis_fn->createNil(t);
}

static void
bounded_free(void *obj)
{
	hiredis_fn->freeObject(obj);
}

static redisReplyObjectFunctions bounded_fn = {
	bounded_string, bounded_array, bounded_integer, bounded_nil,
	bounded_free,
};

/* hiredis's table is static: take it from a reader it made. */
static void
hiredis_fn_init(void)
{
	redisReader	*r;

	if ((r = redisReaderCreate()) != NULL) {
		hiredis_fn = r->fn;
		redisReaderFree(r);
	}
}

void
redis_conn_bound_reader(redisReader *r)
{
	pthread_once(&hiredis_once, hiredis_fn_init);
	if (r != NULL && hiredis_fn != NULL && r->fn == hiredis_fn)
		r->fn = &bounded_fn;
}

void
redis_conn_bound(redisContext *c)
{
	if (c != NULL)
		redis_conn_bound_reader(c->reader);
}

/* The context is dead from here on: hiredis checks c->err first. */
static void
too_large(redisContext *c, unsigned long bound, const char *what)
{
	c->err = REDIS_ERR_PROTOCOL;
	snprintf(c->errstr, sizeof(c->errstr), "reply too large (more than "
	    "%lu %s)", bound, what);
	budget_reset();
}

/* The reader's error, or ours when it was a refused array. */
static int
reader_failed(redisContext *c)
{
	if (budget_refused)
		too_large(c, REDISCONN_ELEMENTS_MAX, "array elements");
	else
		budget_reset();
	return REDIS_ERR;
}

int
redis_conn_reply_from_reader(redisContext *c, void **reply)
{
	*reply = NULL;
	if (redisGetReplyFromReader(c, reply) != REDIS_OK)
		return reader_failed(c);
	if (*reply != NULL)
		budget_reset();		/* the next reply starts afresh */
	return REDIS_OK;
}

int
redis_conn_read(redisContext *c)
{
	size_t	before = c->reader->len;

	if (redisBufferRead(c) != REDIS_OK) {
		budget_reset();
		return REDIS_ERR;
	}
	/* The reader only grows here; it is compacted when replies go. */
	budget_bytes += c->reader->len - before;
	if (budget_bytes > REDISCONN_BYTES_MAX) {
		too_large(c, REDISCONN_BYTES_MAX, "bytes");
		return REDIS_ERR;
	}
	return REDIS_OK;
}

/* redisGetReply's loop (write what is pending, read until a reply). */
int
redis_conn_get_reply(redisContext *c, void **reply)
{
	void	*r = NULL;
	int	 done = 0;

	*reply = NULL;
	budget_reset();
	if (redis_conn_reply_from_reader(c, &r) != REDIS_OK)
		return REDIS_ERR;
	if (r == NULL) {
		do {
			if (redisBufferWrite(c, &done) != REDIS_OK)
				return REDIS_ERR;
		} while (!done);
		do {
			if (redis_conn_read(c) != REDIS_OK ||
			    redis_conn_reply_from_reader(c, &r) != REDIS_OK)
				return REDIS_ERR;
		} while (r == NULL);
	}
	*reply = r;
	return REDIS_OK;
}

redisReply *
redis_conn_vcommand(redisContext *c, const char *fmt, va_list ap)
{
	void	*r;

	if (redisvAppendCommand(c, fmt, ap) != REDIS_OK ||
	    redis_conn_get_reply(c, &r) != REDIS_OK)
		return NULL;
	return r;
}

redisReply *
redis_conn_command(redisContext *c, const char *fmt, ...)
{
	redisReply	*r;
	va_list		 ap;

	va_start(ap, fmt);
	r = redis_conn_vcommand(c, fmt, ap);
	va_end(ap);
	return r;
}

redisReply *
redis_conn_command_argv(redisContext *c, int argc, const char **argv)
{
	void	*r;

	if (redisAppendCommandArgv(c, argc, argv, NULL) != REDIS_OK ||
	    redis_conn_get_reply(c, &r) != REDIS_OK)
		return NULL;
	return r;
}
