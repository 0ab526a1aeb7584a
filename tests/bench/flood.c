/*
 * flood: sends one DNS query to 127.0.0.1:PORT at RATE queries/s for SECONDS
 * from SRC (a loopback address), in sendmmsg batches, and counts the replies
 * (full or truncated).  For tests/bench/rrl.sh; loopback only, bounded.
 *   flood SRC PORT RATE SECONDS
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	/* mig-kv-7f3a.vault.azure.net A, RD */
	static const unsigned char q[] = "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
	    "\x0bmig-kv-7f3a\x05vault\x05""azure\x03net\x00\x00\x01\x00\x01";
	struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
	struct mmsghdr m[64], r[64];
	struct iovec iov[64], riov[64];
	static unsigned char rb[64][512];
	unsigned long sent = 0, full = 0, tc = 0;
	double start, end, rate;
	int fd, i;

	if (argc != 5)
		return fprintf(stderr, "usage: flood SRC PORT RATE SECONDS\n"), 64;
	if (inet_pton(AF_INET, argv[1], &src.sin_addr) != 1 ||
	    (ntohl(src.sin_addr.s_addr) >> 24) != 127)
		return fprintf(stderr, "flood: SRC must be a 127/8 address\n"), 64;
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	dst.sin_port = htons((unsigned short)atoi(argv[2]));
	rate = atof(argv[3]);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0)
		return perror("flood"), 71;
	for (i = 0; i < 64; i++) {
		iov[i].iov_base = (void *)q;
		iov[i].iov_len = sizeof(q) - 1;
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
		riov[i].iov_base = rb[i];
		riov[i].iov_len = sizeof(rb[i]);
		memset(&r[i], 0, sizeof(r[i]));
		r[i].msg_hdr.msg_iov = &riov[i];
		r[i].msg_hdr.msg_iovlen = 1;
	}
	start = now();
	end = start + atof(argv[4]);
	for (double t = start; t < end + 0.5; t = now()) {
		if (t < end && sent < (t - start) * rate) {
			int n = sendmmsg(fd, m, 64, 0);
			if (n > 0)
				sent += (unsigned long)n;
		}
		int n = recvmmsg(fd, r, 64, MSG_DONTWAIT, NULL);
		for (i = 0; i < n; i++)
			if (r[i].msg_len >= 4 && (rb[i][2] & 0x02))
				tc++;
			else
				full++;
	}
	printf("flood from %s: %lu queries in %s s (%.0f q/s); answers: %lu full "
	    "(%.0f/s), %lu truncated, %lu dropped\n", argv[1], sent, argv[4],
	    sent / atof(argv[4]), full, full / atof(argv[4]), tc, sent - full - tc);
	return 0;
}
