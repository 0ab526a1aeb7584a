/*
 * What one rrl_check costs, in nanoseconds: one client, 65536 IPv4
 * networks over a 16384-bucket table, 4096 IPv6 networks.  A figure to
 * compare before and after a change to rrl.c, not a test (the figures move
 * with the machine's load).  Built and run by "make bench" in a build
 * directory; build with optimisation and without sanitizers for figures
 * worth comparing.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/rrl.h"

enum { N = 2000000 };

static double
elapsed_ns(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e9 + (double)(b->tv_nsec - a->tv_nsec);
}

int
main(void)
{
	struct rrl *r = rrl_new(100, 2, 16384);
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct timespec t0, t1;
	struct rrl_info info;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;

	sin.sin_addr.s_addr = htonl(0xc0000201);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t i = 0; i < N; i++)
		(void)rrl_check(r, (struct sockaddr *)&sin, i / 1000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("rrl_check, one client: %.1f ns\n", elapsed_ns(&t0, &t1) / N);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t i = 0; i < N; i++) {
		/* 65536 networks over a 16384-bucket table */
		sin.sin_addr.s_addr = htonl(0x0a000000 | (i * 2654435761u & 0xffff) << 8);
		(void)rrl_check(r, (struct sockaddr *)&sin, i / 1000);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("rrl_check, 65536 IPv4 networks: %.1f ns\n", elapsed_ns(&t0, &t1) / N);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t i = 0; i < N; i++) {
		uint32_t n = i * 2654435761u & 0xfff;

		sin6.sin6_addr.s6_addr[0] = 0x20;
		sin6.sin6_addr.s6_addr[1] = 0x01;
		sin6.sin6_addr.s6_addr[5] = (uint8_t)(n >> 8);
		sin6.sin6_addr.s6_addr[6] = (uint8_t)n;
		sin6.sin6_addr.s6_addr[15] = (uint8_t)i;
		(void)rrl_check(r, (struct sockaddr *)&sin6, i / 1000);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("rrl_check, 4096 IPv6 networks: %.1f ns\n", elapsed_ns(&t0, &t1) / N);

	/* Every call was counted once: a figure from a loop the compiler
	 * cut short would be worthless. */
	rrl_get_info(r, &info);
	rrl_free(r);
	if (info.sent + info.slipped + info.dropped != 3 * (uint64_t)N) {
		fprintf(stderr, "rrl_cost: %llu calls counted, %llu made\n",
		    (unsigned long long)(info.sent + info.slipped + info.dropped),
		    3 * (unsigned long long)N);
		return 1;
	}
	return 0;
}
