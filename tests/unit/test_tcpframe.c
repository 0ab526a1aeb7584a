/* Unit tests for tcpframe: length-prefixed messages on evbuffers. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "wire/tcpframe.h"

static void
add(struct evbuffer *b, const void *p, size_t n)
{
	assert_int_equal(evbuffer_add(b, p, n), 0);
}

/* A message arrives an octet at a time: nothing is taken until it is whole. */
static void
test_read_piecewise(void **state)
{
	static const uint8_t frame[] = { 0, 5, 'h', 'e', 'l', 'l', 'o' };
	struct evbuffer *b = evbuffer_new();
	uint8_t out[16];
	size_t len = 99;

	(void)state;
	assert_int_equal(tcpframe_read(b, out, 1, sizeof(out), &len), TCPFRAME_MORE);
	assert_int_equal(len, 0);
	for (size_t i = 0; i + 1 < sizeof(frame); i++) {
		add(b, frame + i, 1);
		assert_int_equal(tcpframe_read(b, out, 1, sizeof(out), &len), TCPFRAME_MORE);
		assert_int_equal(evbuffer_get_length(b), i + 1);
	}
	add(b, frame + sizeof(frame) - 1, 1);
	assert_int_equal(tcpframe_read(b, out, 1, sizeof(out), &len), TCPFRAME_MSG);
	assert_int_equal(len, 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}

/* Several messages in one read come out one by one, in order. */
static void
test_read_several(void **state)
{
	static const uint8_t frames[] = { 0, 1, 'a', 0, 3, 'b', 'c', 'd', 0, 2, 'e' };
	struct evbuffer *b = evbuffer_new();
	uint8_t out[16];
	size_t len;

	(void)state;
	add(b, frames, sizeof(frames));
	assert_int_equal(tcpframe_read(b, out, 1, sizeof(out), &len), TCPFRAME_MSG);
	assert_int_equal(len, 1);
	assert_int_equal(out[0], 'a');
	assert_int_equal(tcpframe_read(b, out, 1, sizeof(out), &len), TCPFRAME_MSG);
	assert_int_equal(len, 3);
	assert_memory_equal(out, "bcd", 3);
	/* The third lacks an octet. */
	assert_int_equal(tcpframe_read(b, out, 1, sizeof(out), &len), TCPFRAME_MORE);
	assert_int_equal(evbuffer_get_length(b), 3);
	evbuffer_free(b);
}

/* A length that cannot be taken is told from the prefix alone. */
static void
test_read_bad_length(void **state)
{
	struct evbuffer *b = evbuffer_new();
	uint8_t out[12];
	size_t len;

	(void)state;
	add(b, "\0\0", 2);
	assert_int_equal(tcpframe_read(b, out, 0, sizeof(out), &len), TCPFRAME_BAD);
	assert_int_equal(len, 0);
	assert_int_equal(evbuffer_get_length(b), 2);
	evbuffer_drain(b, 2);
	add(b, "\0\015", 2);		/* 13, one more than OUT holds */
	assert_int_equal(tcpframe_read(b, out, 1, sizeof(out), &len), TCPFRAME_BAD);
	assert_int_equal(len, 13);
	assert_int_equal(evbuffer_get_length(b), 2);
	evbuffer_drain(b, 2);
	add(b, "\0\013", 2);		/* 11, under a header */
	assert_int_equal(tcpframe_read(b, out, 12, sizeof(out), &len), TCPFRAME_BAD);
	assert_int_equal(len, 11);
	evbuffer_drain(b, 2);
	add(b, "\377\377", 2);
	assert_int_equal(tcpframe_read(b, out, 1, sizeof(out), &len), TCPFRAME_BAD);
	assert_int_equal(len, 65535);
	evbuffer_free(b);
}

static void
test_write(void **state)
{
	struct evbuffer *b = evbuffer_new();
	uint8_t *big = calloc(1, 65536), out[65535];
	size_t len;

	(void)state;
	assert_non_null(big);
	assert_int_equal(tcpframe_write(b, (const uint8_t *)"xyz", 3), 0);
	assert_int_equal(evbuffer_get_length(b), 5);
	assert_memory_equal(evbuffer_pullup(b, -1), "\0\003xyz", 5);
	evbuffer_drain(b, 5);
	/* The largest message, and one octet more, which adds nothing. */
	big[0] = 0x11;
	big[65534] = 0x22;
	assert_int_equal(tcpframe_write(b, big, 65535), 0);
	assert_int_equal(tcpframe_write(b, big, 65536), -1);
	assert_int_equal(evbuffer_get_length(b), 65537);
	assert_int_equal(tcpframe_read(b, out, 1, sizeof(out), &len), TCPFRAME_MSG);
	assert_int_equal(len, 65535);
	assert_int_equal(out[0], 0x11);
	assert_int_equal(out[65534], 0x22);
	assert_int_equal(evbuffer_get_length(b), 0);
	free(big);
	evbuffer_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_piecewise),
		cmocka_unit_test(test_read_several),
		cmocka_unit_test(test_read_bad_length),
		cmocka_unit_test(test_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
