/*
 * What one more process on the path of a call costs on this machine, even
 * when it does nothing but pass bytes on: the floor under any relay, the
 * gate included.
 *
 * A client and an echo process exchange a small request and response
 * (about a NetrServerGetInfo's) over a Unix socket, either directly or
 * through a relay process that does what the gate does per message and no
 * more: epoll_wait(), one read() and one writev() per direction.  Direct
 * and relayed batches alternate; prints "hop mode=direct|relayed
 * us=MEDIAN min=MIN max=MAX" per round trip, the median of the batches.
 * Then the same for a bulk answer (about a NetShareEnumAll of thousands
 * of shares: BULK_SIZE bytes written in fragments of 4,280): "bulk
 * mode=direct|relayed ms=MEDIAN min=MIN max=MAX" per transfer.
 *
 * Usage: bench_hop [round trips per batch] [batches]
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_SIZE 160
#define RESPONSE_SIZE 240
#define BULK_SIZE (1200 * 1024)
#define BULK_FRAGMENT 4280
#define BULK_PER_BATCH 10

static int read_full(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n <= 0) {
			if (n == -1 && errno == EINTR) {
				continue;
			}
			return -1;
		}
		got += n;
	}
	return 0;
}

/* Answers 'q' with RESPONSE_SIZE bytes, 'b' with BULK_SIZE in fragments. */
static void echo(int fd)
{
	static char resp[BULK_FRAGMENT];
	char req[REQUEST_SIZE];

	memset(resp, 'r', sizeof(resp));
	while (read_full(fd, req, sizeof(req)) == 0) {
		size_t left = req[0] == 'b' ? BULK_SIZE : RESPONSE_SIZE;

		while (left > 0) {
			size_t n = left < sizeof(resp) ? left : sizeof(resp);

			if (write(fd, resp, n) != (ssize_t)n) {
				_exit(0);
			}
			left -= n;
		}
	}
	_exit(0);
}

/* The gate's system calls per message, nothing else. */
static void relay(int a, int b)
{
	struct epoll_event ev = { .events = EPOLLIN };
	char buf[65536];
	int ep = epoll_create1(0);

	ev.data.fd = a;
	epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev);
	ev.data.fd = b;
	epoll_ctl(ep, EPOLL_CTL_ADD, b, &ev);
	for (;;) {
		struct epoll_event got;
		struct iovec iov;
		ssize_t n;
		int from, to;

		if (epoll_wait(ep, &got, 1, -1) != 1) {
			continue;
		}
		from = got.data.fd;
		to = from == a ? b : a;
		n = read(from, buf, sizeof(buf));
		if (n <= 0) {
			_exit(0);
		}
		iov = (struct iovec) { .iov_base = buf, .iov_len = n };
		if (writev(to, &iov, 1) != n) {
			_exit(1);
		}
	}
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Microseconds per round trip over n round trips on fd. */
static double batch(int fd, int n, char kind)
{
	static char resp[BULK_SIZE];
	char req[REQUEST_SIZE];
	size_t len = kind == 'b' ? BULK_SIZE : RESPONSE_SIZE;
	double t0;
	int i;

	memset(req, kind, sizeof(req));
	t0 = now_us();
	for (i = 0; i < n; i++) {
		if (write(fd, req, sizeof(req)) != sizeof(req) ||
		    read_full(fd, resp, len) != 0) {
			fprintf(stderr, "bench_hop: round trip failed\n");
			exit(1);
		}
	}
	return (now_us() - t0) / n;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, const char *mode, const char *unit,
		   double scale, double *v, int k)
{
	qsort(v, k, sizeof(*v), cmp);
	printf("%s mode=%s %s=%.2f min=%.2f max=%.2f\n", what, mode, unit,
	       v[k / 2] * scale, v[0] * scale, v[k - 1] * scale);
}

/* k interleaved batches of n round trips of kind, direct and relayed. */
static void compare(int direct, int relayed, int n, int k, char kind,
		    double *d, double *r)
{
	int i;

	batch(direct, n / 10 + 1, kind);	/* warm up */
	batch(relayed, n / 10 + 1, kind);
	for (i = 0; i < k; i++) {
		if (i % 2 == 0) {
			d[i] = batch(direct, n, kind);
			r[i] = batch(relayed, n, kind);
		} else {
			r[i] = batch(relayed, n, kind);
			d[i] = batch(direct, n, kind);
		}
	}
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2000;
	int k = argc > 2 ? atoi(argv[2]) : 15;
	int direct[2], to_relay[2], from_relay[2];
	double *d = NULL, *r = NULL;
	pid_t pids[3];
	int i;

	if (n <= 0 || k <= 0 || k > 1000) {
		fprintf(stderr, "usage: bench_hop [round trips] [batches]\n");
		return 2;
	}
	d = calloc(k, sizeof(*d));
	r = calloc(k, sizeof(*r));
	if (d == NULL || r == NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, direct) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, to_relay) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, from_relay) != 0) {
		perror("bench_hop");
		return 1;
	}
	if ((pids[0] = fork()) == 0) {
		echo(direct[1]);
	}
	if ((pids[1] = fork()) == 0) {
		echo(from_relay[1]);
	}
	if ((pids[2] = fork()) == 0) {
		relay(to_relay[1], from_relay[0]);
	}
	close(direct[1]);
	close(to_relay[1]);
	close(from_relay[0]);
	close(from_relay[1]);
	compare(direct[0], to_relay[0], n, k, 'q', d, r);
	report("hop", "direct", "us", 1, d, k);
	report("hop", "relayed", "us", 1, r, k);
	compare(direct[0], to_relay[0], BULK_PER_BATCH, k, 'b', d, r);
	report("bulk", "direct", "ms", 1e-3, d, k);
	report("bulk", "relayed", "ms", 1e-3, r, k);
	close(direct[0]);
	close(to_relay[0]);
	/* Each child holds the others' descriptors too: no EOF ends them. */
	for (i = 0; i < 3; i++) {
		kill(pids[i], SIGTERM);
		waitpid(pids[i], NULL, 0);
	}
	return 0;
}
