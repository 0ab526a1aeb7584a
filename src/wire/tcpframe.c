/* tcpframe: length-prefixed DNS messages on evbuffers (RFC 7766 8). */
#include <string.h>

#include "wire/tcpframe.h"
#include "wire/wire.h"

enum tcpframe_status
tcpframe_read(struct evbuffer *in, uint8_t *out, size_t min, size_t cap,
    size_t *len)
{
	uint8_t lenb[2];
	size_t n;

	*len = 0;
	if (evbuffer_copyout(in, lenb, 2) != 2)
		return TCPFRAME_MORE;
	n = wire_get_u16(lenb);
	if (n == 0 || n < min || n > cap) {
		*len = n;
		return TCPFRAME_BAD;
	}
	if (evbuffer_get_length(in) < 2 + n)
		return TCPFRAME_MORE;
	evbuffer_drain(in, 2);
	evbuffer_remove(in, out, n);
	*len = n;
	return TCPFRAME_MSG;
}

int
tcpframe_write(struct evbuffer *out, const uint8_t *msg, size_t len)
{
	struct evbuffer_iovec v;

	/* One contiguous reservation, committed whole or not at all: never
	 * half a frame, which would put the stream out of step. */
	if (len > WIRE_MAX_MSG || evbuffer_reserve_space(out, 2 + len, &v, 1) != 1 ||
	    v.iov_len < 2 + len)
		return -1;
	wire_write_u16(v.iov_base, (uint16_t)len);
	if (len > 0)
		memcpy((uint8_t *)v.iov_base + 2, msg, len);
	v.iov_len = 2 + len;
	return evbuffer_commit_space(out, &v, 1) == 0 ? 0 : -1;
}
