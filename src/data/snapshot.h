/*
 * snapshot: the immutable local data the query path reads.
 *
 * A snapshot holds the configuration it was built with and every local
 * zone (SOA, NS, RRsets in wire form) in hash tables keyed by lower-cased wire
 * names, plus the public twin suffixes and conditional forward rules.  It is
 * built off the query path (start-up, reload) and never changed after (but
 * for the secondary zones' availability, see szone_unavailable()); a
 * reload builds a new one and swaps a pointer.  Readers are the workers:
 * each holds one reference to the snapshot it currently uses and trades it
 * for the new one between events, so no lock or atomic operation is taken per
 * query; the last worker to let go frees the old snapshot.
 */
#ifndef PLDNS_SNAPSHOT_H
#define PLDNS_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/config.h"
#include "util/diag.h"
#include "data/records.h"
#include "wire/wire.h"

/* An RRset: COUNT records of one type sharing one TTL.  DATA is COUNT
 * entries of (u16 rdlen, rdata) back to back. */
struct rrset {
	uint16_t type;
	uint16_t count;
	uint32_t ttl;
	uint32_t datalen;
	uint8_t *data;
};

struct node {
	const uint8_t *owner;		/* wire, lower-case (points into the zone's name pool) */
	struct rrset *rrsets;		/* ONE when there is one */
	uint16_t nrrsets;
	/* Most names have one RRset: it lies in the node, not one more
	 * pointer away, and its data beside the owner in the name pool. */
	struct rrset one;
};

struct szone;
struct snapshot;

/*
 * Builds a snapshot from CFG and the records RS (consumed: RS is left
 * empty).  Takes ownership of CFG.  SERIAL_BASE is used for synthesized SOA
 * serials (a time-based value; see snapshot_serial_next).  Never fails on
 * data that records_load accepted; returns NULL only if a zone is
 * inconsistent (CNAME beside other data), with the reason in D.
 */
struct snapshot *snapshot_new(struct config *cfg, struct recset *rs,
    const struct snapshot *prev, struct diag *d);

/* Reference counting: the creator holds one reference. */
void snapshot_ref(struct snapshot *s);
void snapshot_unref(struct snapshot *s);
/* How many references S has now (for freeing it where it costs least). */
int snapshot_refs(const struct snapshot *s);

const struct config *snapshot_config(const struct snapshot *s);
size_t snapshot_nzones(const struct snapshot *s);
const struct szone *snapshot_zone_at(const struct snapshot *s, size_t i);
/* The zone named NAME (lower-case text, no trailing dot), or NULL; S may be NULL. */
const struct szone *snapshot_zone_named(const struct snapshot *s, const char *name);
size_t snapshot_nrecords(const struct snapshot *s);

/* The local zone NAME (lower-case wire) is at or below, longest match, or NULL. */
const struct szone *snapshot_find_zone(const struct snapshot *s, const uint8_t *name);

/*
 * Routes NAME (lower-case wire): returns the local zone when NAME is inside
 * one; otherwise, when NAME is inside a public twin of a local zone, returns
 * that zone and writes the privatelink form of NAME into PLNAME
 * (WIRE_NAME_MAX bytes) and sets *IS_TWIN.  NULL when neither.
 * The longest suffix wins across zones and twins.
 */
const struct szone *snapshot_route(const struct snapshot *s, const uint8_t *name,
    uint8_t *plname, bool *is_twin);

/*
 * The default upstream servers in the order configured: plain ones and DNS
 * over TLS ones alike (the TLS ones are also listed by snapshot_tls()).
 */
const struct pl_addr *snapshot_upstreams(const struct snapshot *s, size_t *n);
const struct addr_tls *snapshot_tls(const struct snapshot *s, size_t *n);

/* snapshot_route() for NAME of LEN octets (its wire_name_len()) that also
 * gives, for szone_node_h(), the hash of NAME, or for a public twin the
 * hash of its privatelink name and that name's length in *PLLEN. */
const struct szone *snapshot_route_h(const struct snapshot *s, const uint8_t *name,
    size_t len, uint8_t *plname, size_t *pllen, bool *is_twin, uint64_t *hash);

/* Longest [forward] rule covering NAME, or NULL (then the default upstreams). */
const struct forward_conf *snapshot_forward(const struct snapshot *s, const uint8_t *name);

/* Zone accessors. */
const char *szone_name(const struct szone *z);
const uint8_t *szone_apex(const struct szone *z);
const struct rrset *szone_soa(const struct szone *z);
int szone_missing(const struct szone *z);
/* Whether some name of Z holds a DNAME (then names below it are substituted). */
bool szone_has_dname(const struct szone *z);
uint32_t szone_serial(const struct szone *z);
size_t szone_nrecords(const struct szone *z);
/* A hash of the records Z loaded (equal content, equal hash), which is
 * what decides whether its serial moves. */
uint64_t szone_content_hash(const struct szone *z);
/* The hash szone_node_h() takes for NAME (LEN octets, lower-case), for
 * lookups that fetch ahead with szone_prefetch_slot(). */
uint64_t szone_name_hash(const uint8_t *name, size_t len);
/* Whether the RRset of TYPE at N (a node of Z) was made up by pldns
 * (Azure's default SOA and NS at the apex of a zone without them) rather
 * than loaded. */
bool szone_synthesized(const struct szone *z, const struct node *n, uint16_t type);
/* The node for NAME (lower-case wire, inside Z), or NULL.  Empty
 * non-terminals exist as nodes without RRsets. */
const struct node *szone_node(const struct szone *z, const uint8_t *name);

/* The nodes of Z in no particular order, for zone transfers:
 * I < szone_nnodes(Z). */
size_t szone_nnodes(const struct szone *z);
const struct node *szone_node_at(const struct szone *z, size_t i);

/* szone_node() for NAME of LEN octets, with the hash snapshot_route_h()
 * gave: of the name it routed, or for a public twin of its privatelink
 * name. */
const struct node *szone_node_h(const struct szone *z, const uint8_t *name,
    size_t len, uint64_t hash);

/*
 * For running the cache misses of several lookups together, each a chain
 * of three (table slot, node, owner) that would otherwise come one after
 * another: szone_prefetch_slot() starts fetching the slot szone_node_h()
 * with HASH reads first; szone_node_guess(), once the slot is in, starts
 * fetching the node it names and returns it (most likely the node looked
 * for, maybe another name's, or NULL) so that its owner can follow.  Both
 * read only what the lookup reads.
 */
void szone_prefetch_slot(const struct szone *z, uint64_t hash);
const struct node *szone_node_guess(const struct szone *z, uint64_t hash);

/* The RRset of TYPE at N, or NULL. */
const struct rrset *node_rrset(const struct node *n, uint16_t type);

/*
 * Secondary zones that must answer SERVFAIL (no data transferred yet, or
 * expired): the one state of a snapshot that changes after it is built.
 * xfr_secondary sets it, on the main thread, on the snapshot it is about to
 * put in service and on that snapshot when a zone's state changes; workers
 * read it with relaxed loads, no lock.  snapshot_nunavailable() is how many
 * zones of S have it set (0: the query path need not look up the zone).
 * snapshot_set_unavailable() does nothing when S has no zone NAME
 * (lower-case text, no trailing dot).
 */
bool szone_unavailable(const struct szone *z);
size_t snapshot_nunavailable(const struct snapshot *s);
void snapshot_set_unavailable(struct snapshot *s, const char *name, bool on);

#endif
