/*
 * The floor for bench/compare: what answering costs when nothing is
 * parsed.  Per readable socket: one read(2), one write(2) of a canned 307
 * (the headers geo307 sends, without the HTML body), and with -c a
 * close(2) after it.  N threads, each with its own SO_REUSEPORT listener
 * and epoll, level-triggered.  It assumes one request per read, which
 * holds for wrk without pipelining; it is not an HTTP server.
 *
 *   floor [-c] [-t threads] port
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char keep_alive[] =
    "HTTP/1.1 307 Temporary Redirect\r\n"
    "Location: https://eu-1.up.example.net/upload?x=1\r\n"
    "X-Upload-Server: eu-1\r\n"
    "X-Redirect-Reason: region\r\n"
    "X-Request-Id: 0123456789abcdef0123456789abcdef\r\n"
    "Cache-Control: no-store\r\n"
    "Content-Length: 0\r\n"
    "\r\n";
static const char closing[] =
    "HTTP/1.1 307 Temporary Redirect\r\n"
    "Location: https://eu-1.up.example.net/upload?x=1\r\n"
    "X-Upload-Server: eu-1\r\n"
    "X-Redirect-Reason: region\r\n"
    "X-Request-Id: 0123456789abcdef0123456789abcdef\r\n"
    "Cache-Control: no-store\r\n"
    "Content-Length: 0\r\n"
    "Connection: close\r\n"
    "\r\n";

static int	close_mode;
static int	port;

static int
listener(void)
{
	struct sockaddr_in	sin;
	int			fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(fd, 1024) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void *
worker(void *arg)
{
	struct epoll_event	ev, evs[256];
	char			buf[16384];
	const char		*resp = close_mode ? closing : keep_alive;
	size_t			rlen = close_mode ? sizeof(closing) - 1 :
				    sizeof(keep_alive) - 1;
	int			lfd = *(int *)arg, ep, n, i, fd, one = 1;
	ssize_t			r;

	if ((ep = epoll_create1(0)) < 0)
		return NULL;
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		n = epoll_wait(ep, evs, 256, -1);
		for (i = 0; i < n; i++) {
			fd = evs[i].data.fd;
			if (fd == lfd) {
				while ((fd = accept4(lfd, NULL, NULL,
				    SOCK_NONBLOCK)) >= 0) {
					setsockopt(fd, IPPROTO_TCP,
					    TCP_NODELAY, &one, sizeof(one));
					ev.events = EPOLLIN;
					ev.data.fd = fd;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			r = read(fd, buf, sizeof(buf));
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				close(fd);
				continue;
			}
			if (write(fd, resp, rlen) != (ssize_t)rlen ||
			    close_mode)
				close(fd);
		}
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t	t;
	int		c, threads = 2, i, *fds;

	while ((c = getopt(argc, argv, "ct:")) != -1)
		switch (c) {
		case 'c':
			close_mode = 1;
			break;
		case 't':
			threads = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: floor [-c] [-t threads] port\n");
			return 2;
		}
	if (optind + 1 != argc || (port = atoi(argv[optind])) <= 0 ||
	    threads < 1) {
		fprintf(stderr, "usage: floor [-c] [-t threads] port\n");
		return 2;
	}
	if ((fds = calloc(threads, sizeof(*fds))) == NULL)
		return 1;
	for (i = 0; i < threads; i++)
		if ((fds[i] = listener()) < 0) {
			perror("floor: listen");
			return 1;
		}
	for (i = 1; i < threads; i++)
		pthread_create(&t, NULL, worker, &fds[i]);
	worker(&fds[0]);
	return 0;
}
