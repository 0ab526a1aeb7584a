/*
 * answer: builds replies.  Pure functions: (snapshot, query[, upstream
 * response]) -> reply bytes.  No sockets, no clock, no allocation, so that
 * unit tests drive them directly and the query path never allocates here.
 *
 *  - answer_local(): names inside local zones (authoritative: AA, SOA in
 *    negative answers, wildcards, CNAMEs followed through local zones) and
 *    public names whose privatelink twin has local data (CNAME public ->
 *    privatelink, then the local RRset; AA clear).
 *  - answer_upstream(): turns upstream responses into the client's reply:
 *    the client's ID and question case, our own OPT, and splicing: a CNAME
 *    chain is cut at the first name pldns answers from local data (a local
 *    zone's, or a public name whose privatelink twin is local) and completed
 *    as a direct query of that name would be; upstream data about such names
 *    is dropped from every section.  An upstream speaks only for the names
 *    pldns routes to it: where its chain leaves them, the chain goes on
 *    with the response to a follow-up query for that name (see
 *    answer_upstream()).
 */
#ifndef PLDNS_ANSWER_H
#define PLDNS_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "data/snapshot.h"
#include "wire/wire.h"

/* How an answer was made (for metrics and the query log). */
enum answer_path {
	PATH_LOCAL, PATH_SYNTH, PATH_SPLICED, PATH_UPSTREAM, PATH_CACHE,
	PATH_REFUSED, PATH_ERROR, PATH_COUNT
};

extern const char *const answer_path_names[PATH_COUNT];

enum answer_result {
	ANSWER_DONE,		/* the reply is in the buffer */
	ANSWER_FORWARD		/* ask upstream, then call answer_upstream() */
};

/* The largest chain of CNAMEs followed (Azure OpenAI chains reach 8). */
#define ANSWER_MAX_CHAIN	16
/* Upstream responses with more records than this are answered SERVFAIL. */
#define ANSWER_MAX_RRS		256
/* Upstream responses one reply is built from: the first and the follow-ups
 * for chains that leave what the server asked speaks for. */
#define ANSWER_MAX_PARTS	8

/* One upstream response (whose ID and question were checked). */
struct answer_part {
	const uint8_t *msg;
	size_t len;
};

struct answer_info {
	enum answer_path path;
	int rcode;
	size_t len;		/* reply length */
	bool truncated;		/* TC set because the reply did not fit */
	bool fallback;		/* forwarding for a local name under missing = fallback */
	/* answer_upstream, for keeping the reply (cache_keep_reply): */
	bool ad_ok;		/* the upstream set AD and nothing was spliced */
	size_t len_noopt;	/* the reply's length before our OPT */
	uint16_t ar_noopt;	/* its additional records before our OPT */
	/* For the query log and the table of names clients miss (missing.h): */
	bool stale;		/* made from an expired cache entry (RFC 8767) */
	const struct szone *miss_zone;	/* the local zone that lacked the name
					 * asked (NXDOMAIN, or the public answer
					 * under missing = fallback); NULL */
	/* answer_upstream: on ANSWER_DONE, the responses the reply was built
	 * from; on ANSWER_FORWARD, how many of those given to keep, the
	 * response for NEXT to come after them. */
	int nparts;
	/* Last, so that answer_info_clear() leaves its 255 octets alone. */
	uint8_t next[WIRE_NAME_MAX];	/* ANSWER_FORWARD: the name to ask upstream (lower-case),
					 * through the route pldns uses for it */
};

/* Zeroes INFO but for NEXT, which is filled whenever it is meant. */
#define answer_info_clear(info) \
	memset((info), 0, offsetof(struct answer_info, next))

/* Scratch space for answer_upstream (about 70 KB; one per worker, not per query). */
struct answer_scratch {
	struct wire_rr rrs[ANSWER_MAX_RRS];
	int section[ANSWER_MAX_RRS];	/* 1 answer, 2 authority, 3 additional */
	bool used[ANSWER_MAX_RRS];
	/* Where answer_upstream wrote the upstream's TTLs in the reply (the
	 * ones that age with a cache entry), and what it wrote. */
	uint16_t ttloff[ANSWER_MAX_RRS];
	uint32_t ttl[ANSWER_MAX_RRS];
	int nttl;
	uint8_t rdata[WIRE_MAX_MSG];
};

/* The largest UDP reply we send: 1232 (DNS Flag Day 2020) unless the
 * client asked for less; 512 without EDNS. */
size_t answer_udp_limit(const struct wire_query *q);

/*
 * Where Q's name lies among the local zones and their public twins: the
 * first step of answer_local(), apart, so that the lookups of a batch of
 * queries miss the cache together.  answer_route() routes Q and starts
 * fetching the node table's slot; once every query of the batch is routed,
 * answer_fetch_node() starts fetching each node, then answer_fetch_owner()
 * each node's owner; then answer_local_routed() answers.  Each step reads
 * only what the one before fetched.
 */
struct answer_route {
	const struct szone *z;		/* NULL: the name is not local */
	bool twin;			/* a public twin: PL is its privatelink name */
	uint64_t h;			/* for szone_node_h(): the name's, or PL's */
	const struct node *guess;	/* the node the lookup will likely read */
	size_t pllen;
	uint8_t pl[WIRE_NAME_MAX];
};
void answer_route(const struct snapshot *s, const struct wire_query *q,
    struct answer_route *rt);
void answer_fetch_node(struct answer_route *rt);
void answer_fetch_owner(const struct answer_route *rt);

/*
 * Answers Q from the local data of S when it can.  OUT has room for CAP
 * bytes; LIMIT is the largest reply the client accepts (answer_udp_limit()
 * for UDP, 65535 for TCP).  Returns ANSWER_DONE with the reply in OUT and
 * INFO filled, or ANSWER_FORWARD when upstream must be asked: INFO->next is
 * the name to ask (Q's own name, or the target of a local CNAME that leaves
 * local data); the reply is then built by answer_upstream() from Q and the
 * upstream's response for INFO->next.
 */
enum answer_result answer_local(const struct snapshot *s, const struct wire_query *q,
    uint8_t *out, size_t cap, size_t limit, struct answer_info *info);
/* answer_local() for Q, routed by answer_route() on S into RT. */
enum answer_result answer_local_routed(const struct snapshot *s,
    const struct wire_query *q, const struct answer_route *rt, uint8_t *out,
    size_t cap, size_t limit, struct answer_info *info);

/*
 * Builds the reply to Q from the upstream responses PARTS[0 .. NPARTS): the
 * first answers the name answer_local() left in its INFO->next, each next
 * one the name a previous answer_upstream() asked for.  FALLBACK: the
 * query was forwarded because of missing = fallback (kept for the cache).
 * An upstream is trusted only for names that pldns routes to it (a
 * [forward] rule's suffix; the default upstreams for every name no rule
 * covers) and, after local data redirected the chain, only for names its
 * response holds records for.  Returns ANSWER_DONE with the reply in OUT
 * (SERVFAIL when a response is malformed, on a CNAME loop, a chain over
 * ANSWER_MAX_CHAIN or over ANSWER_MAX_PARTS responses), or ANSWER_FORWARD
 * when the chain reached a name none of PARTS speaks for: INFO->next is
 * that name, to ask through its own route, and the call is to be made
 * again with PARTS[0 .. INFO->nparts) and that response after them.
 */
enum answer_result answer_upstream(const struct snapshot *s, const struct wire_query *q,
    const struct answer_part *parts, int nparts, bool fallback,
    struct answer_scratch *sc, uint8_t *out, size_t cap, size_t limit,
    struct answer_info *info);

struct cache_reply;

/*
 * Sends again a reply that answer_upstream built for the same question (in
 * any case) and local data, kept with a cache entry: Q's ID, question,
 * flags and OPT, TTLs aged by AGE seconds.  Returns false (nothing written)
 * when it does not fit LIMIT, so that the caller builds it afresh.
 */
bool answer_replay(const struct wire_query *q, const struct cache_reply *r,
    uint32_t age, uint8_t *out, size_t cap, size_t limit, struct answer_info *info);

/* The longest reply (without OPT) that answer_replay can send Q under LIMIT. */
size_t answer_replay_room(const struct wire_query *q, size_t limit);

/*
 * After answer_upstream built OUT for Q from a cache entry for UQ's
 * question: whether that reply can be kept with the entry (Q asked the
 * entry's own question, not after a local CNAME, the reply is whole and
 * built from that entry alone),
 * and if so R describes it, for local data generation GEN (R points into
 * SC and OUT until cache_keep_reply copies it).
 */
bool answer_keepable(const struct wire_query *q, const struct wire_query *uq,
    bool fallback, const struct answer_info *info, const struct answer_scratch *sc,
    const uint8_t *out, uint64_t gen, struct cache_reply *r);

/* An error reply (SERVFAIL, REFUSED, FORMERR...) with optional EDE (-1 none). */
void answer_error(const struct wire_query *q, int rcode, int ede,
    uint8_t *out, size_t cap, struct answer_info *info);

#endif
