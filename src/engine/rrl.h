/*
 * rrl: response rate limiting per client network (/24 for IPv4, /56 for
 * IPv6) with token buckets: RATE responses per second per network, bursts
 * up to RATE.  Over the limit, one response in SLIP is sent truncated (TC=1,
 * so a real client retries over TCP) and the others are dropped; SLIP 0 drops
 * all.  TCP is never limited (it cannot be spoofed).  A fixed-size table per
 * worker (no allocation per query); when full, the stalest bucket is reused.
 */
#ifndef PLDNS_RRL_H
#define PLDNS_RRL_H

#include <stdint.h>
#include <sys/socket.h>

enum rrl_verdict { RRL_SEND, RRL_SLIP, RRL_DROP };

struct rrl;

/* RATE 0 disables limiting (rrl_check always says RRL_SEND). */
struct rrl *rrl_new(unsigned rate, unsigned slip, unsigned table_size);
void rrl_free(struct rrl *r);

/* Accounts one response to SA at NOW_MS (monotonic) and says what to do. */
enum rrl_verdict rrl_check(struct rrl *r, const struct sockaddr *sa, uint64_t now_ms);

struct rrl_info { uint64_t sent, slipped, dropped; };
void rrl_get_info(const struct rrl *r, struct rrl_info *out);

#endif
