/*
 * floor: the least work a UDP DNS server can do per query, as the benchmark's
 * yardstick (issue 10).  recvmmsg a batch, answer each query with its own
 * question and one fixed A record (EDNS dropped), sendmmsg the batch back.
 *
 *     floor PORT [SECONDS [epoll | spin=NS]]  listens on 127.0.0.1:PORT only
 *
 * Prints "floor ready port=P" when listening; exits after SECONDS (default
 * 3600) or on SIGTERM/SIGINT.  For epoll_cost.py: with "epoll" the socket
 * is also put in an epoll set that is never waited on (what an event loop's
 * registration alone costs); with "spin=NS" each answer first busy-waits NS
 * nanoseconds (what more work per query costs).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH	64
#define BUFSZ	512

static const unsigned char rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60,
    0, 4, 10, 0, 0, 1 };	/* name ptr, A, IN, TTL 60, 10.0.0.1 */

static void
busy(long ns)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec < ns);
}

int
main(int argc, char **argv)
{
	static unsigned char in[BATCH][BUFSZ], out[BATCH][BUFSZ + sizeof(rr)];
	struct mmsghdr rm[BATCH], sm[BATCH];
	struct iovec riov[BATCH], siov[BATCH];
	struct sockaddr_in peer[BATCH], sa = { .sin_family = AF_INET };
	struct timespec tmo = { 1, 0 };
	time_t end = time(NULL) + (argc > 2 ? atol(argv[2]) : 3600);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), n, i, k;
	long spin = argc > 3 && strncmp(argv[3], "spin=", 5) == 0 ? atol(argv[3] + 5) : 0;

	if (argc < 2)
		return fprintf(stderr, "usage: floor PORT [SECONDS [epoll | spin=NS]]\n"), 64;
	sa.sin_port = htons(atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return perror("floor: bind"), 71;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
	if (argc > 3 && strcmp(argv[3], "epoll") == 0) {
		struct epoll_event ev = { .events = EPOLLIN };
		if (epoll_ctl(epoll_create1(0), EPOLL_CTL_ADD, fd, &ev) < 0)
			return perror("floor: epoll"), 71;
	}
	printf("floor ready port=%s\n", argv[1]);
	fflush(stdout);
	while (time(NULL) < end) {
		for (i = 0; i < BATCH; i++) {
			riov[i] = (struct iovec){ in[i], BUFSZ };
			rm[i].msg_hdr = (struct msghdr){ .msg_name = &peer[i],
			    .msg_namelen = sizeof(peer[i]), .msg_iov = &riov[i],
			    .msg_iovlen = 1 };
		}
		if ((n = recvmmsg(fd, rm, BATCH, MSG_WAITFORONE, NULL)) <= 0)
			continue;	/* timeout or signal: check the clock */
		for (i = k = 0; i < n; i++) {
			unsigned char *q = in[i], *r = out[k];
			size_t len = rm[i].msg_len, p = 12;
			while (p < len && q[p] != 0 && q[p] < 64)
				p += q[p] + 1;
			if (len < 17 || p + 5 > len || q[p] != 0 || (q[2] & 0x80))
				continue;	/* not a plain query: no answer */
			p += 5;
			if (spin > 0)
				busy(spin);
			memcpy(r, q, p);
			r[2] = 0x80 | (q[2] & 0x79) | 0x04;	/* QR, AA, RD kept */
			r[3] = 0x80;				/* RA, NOERROR */
			memcpy(r + 4, "\0\1\0\1\0\0\0\0", 8);	/* 1 question, 1 answer */
			memcpy(r + p, rr, sizeof(rr));
			siov[k] = (struct iovec){ r, p + sizeof(rr) };
			sm[k].msg_hdr = (struct msghdr){ .msg_name = &peer[i],
			    .msg_namelen = rm[i].msg_hdr.msg_namelen,
			    .msg_iov = &siov[k], .msg_iovlen = 1 };
			k++;
		}
		if (k > 0)
			sendmmsg(fd, sm, k, 0);
	}
	return 0;
}
