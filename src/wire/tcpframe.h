/*
 * tcpframe: DNS messages over a byte stream (TCP, TLS), each preceded by
 * its length in two octets (RFC 1035 4.2.2, RFC 7766 8), on libevent
 * evbuffers.
 *
 * Reading takes a message only when it is whole, so a reader calls it
 * again from its read callback until it says TCPFRAME_MORE; a length the
 * reader cannot take (zero, below its minimum, above its buffer) is told
 * as soon as the two length octets are in, before the message arrives.
 * Writing puts the length and the message in the buffer together, so they
 * leave in one segment when they can.
 */
#ifndef PLDNS_TCPFRAME_H
#define PLDNS_TCPFRAME_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

enum tcpframe_status {
	TCPFRAME_MORE,		/* no whole message yet: nothing taken */
	TCPFRAME_MSG,		/* a message was taken */
	TCPFRAME_BAD		/* its length is zero, below MIN or above CAP:
				   nothing taken (the stream is of no further use) */
};

/*
 * Takes the next message from IN into OUT (room for CAP octets): with
 * TCPFRAME_MSG its length is in *LEN, and the message and its length
 * prefix are drained from IN.  With TCPFRAME_BAD *LEN is the length the
 * prefix announced; with TCPFRAME_MORE it is 0.  MIN below 1 counts as 1.
 */
enum tcpframe_status tcpframe_read(struct evbuffer *in, uint8_t *out, size_t min,
    size_t cap, size_t *len);

/* Appends MSG (LEN octets, at most 65535) to OUT with its length prefix:
 * 0, or -1 when LEN is too long or the buffer cannot grow (nothing added). */
int tcpframe_write(struct evbuffer *out, const uint8_t *msg, size_t len);

#endif
