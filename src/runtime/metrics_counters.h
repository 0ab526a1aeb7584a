/*
 * metrics_counters.h: the workers' plain counters, one line each.
 *
 * A line makes a field of struct metrics (metrics.h), which metrics_add()
 * sums over the workers with every other field; a sample of the Prometheus
 * exposition (control_metrics.c); and a key of GET /status (control.c).
 * Adding a counter is adding its line here and counting it where it
 * happens.  The counters kept in arrays (by transport, qtype, rcode, path,
 * latency) are struct metrics's own.
 *
 *   X(field, group, family, label, value, help, object, key)
 *
 *   field   the member of struct metrics
 *   group   the part of the exposition it is shown in (enum metrics_group),
 *           which keeps the families where they have always been
 *   family  its Prometheus counter family
 *   label   the label that tells the samples of a family apart, and
 *   value   this line's value of it; NULL, NULL for a family of one sample
 *   help    the family's HELP text, on its first line; NULL on the lines
 *           that follow it, which must come next
 *   object  the object of /status it is shown in, under
 *   key     this key
 */
#ifndef PLDNS_METRICS_COUNTERS_H
#define PLDNS_METRICS_COUNTERS_H

#define METRICS_COUNTERS(X)						\
	X(dropped, MG_PROTOCOL, "pldns_queries_dropped_total",		\
	    "reason", "malformed",					\
	    "Queries dropped without an answer, by reason.",		\
	    "dropped", "malformed")					\
	X(dropped_acl, MG_PROTOCOL, "pldns_queries_dropped_total",	\
	    "reason", "acl", NULL, "dropped", "acl")			\
	X(rrl_dropped, MG_PROTOCOL, "pldns_queries_dropped_total",	\
	    "reason", "rrl", NULL, "dropped", "rrl")			\
	X(formerr, MG_PROTOCOL, "pldns_queries_rejected_total",		\
	    "reason", "formerr",					\
	    "Queries answered with an error before being looked at, by reason.", \
	    "rejected", "formerr")					\
	X(notimp, MG_PROTOCOL, "pldns_queries_rejected_total",		\
	    "reason", "notimp", NULL, "rejected", "notimp")		\
	X(badvers, MG_PROTOCOL, "pldns_queries_rejected_total",		\
	    "reason", "badvers", NULL, "rejected", "badvers")		\
	X(refused_acl, MG_PROTOCOL, "pldns_queries_rejected_total",	\
	    "reason", "acl", NULL, "rejected", "acl")			\
	X(alloc_failed, MG_PROTOCOL, "pldns_out_of_memory_total", NULL, NULL, \
	    "Queries answered SERVFAIL or TCP connections closed because memory ran out.", \
	    "queries", "out_of_memory")					\
	X(rrl_slipped, MG_PROTOCOL, "pldns_rrl_slipped_total", NULL, NULL, \
	    "Responses sent truncated instead of dropped by rate limiting.", \
	    "queries", "rrl_slipped")					\
	X(truncated, MG_PROTOCOL, "pldns_responses_truncated_total", NULL, NULL, \
	    "Responses sent with TC=1 because they did not fit.",	\
	    "queries", "truncated")					\
	X(tcp_accepted, MG_PROTOCOL, "pldns_tcp_connections_accepted_total", \
	    NULL, NULL, "TCP connections accepted.", "tcp", "accepted")	\
	X(tcp_rejected, MG_PROTOCOL, "pldns_tcp_connections_rejected_total", \
	    NULL, NULL,							\
	    "TCP connections refused because of the connection limits.", \
	    "tcp", "rejected")						\
	X(tcp_idle_closed, MG_PROTOCOL,					\
	    "pldns_tcp_connections_idle_closed_total", NULL, NULL,	\
	    "TCP connections closed after tcp_idle_ms without a query.", \
	    "tcp", "idle_closed")					\
	X(cookies_valid, MG_PROTOCOL, "pldns_cookies_total", "result", "valid", \
	    "DNS cookies (RFC 7873) in queries: a valid server cookie of ours, " \
	    "an invalid or expired one, or a client cookie alone.",	\
	    "cookies", "valid")						\
	X(cookies_invalid, MG_PROTOCOL, "pldns_cookies_total",		\
	    "result", "invalid", NULL, "cookies", "invalid")		\
	X(cookies_new, MG_PROTOCOL, "pldns_cookies_total",		\
	    "result", "new", NULL, "cookies", "new")			\
	X(cache_hits, MG_CACHE, "pldns_cache_hits_total", NULL, NULL,	\
	    "Queries answered from the cache.", "cache", "hits")	\
	X(cache_misses, MG_CACHE, "pldns_cache_misses_total", NULL, NULL, \
	    "Cache lookups that found nothing usable.", "cache", "misses") \
	X(cache_stale_served, MG_CACHE, "pldns_cache_stale_hits_total",	\
	    NULL, NULL,							\
	    "Queries answered from expired cache entries (RFC 8767).",	\
	    "cache", "stale_hits")					\
	X(cache_prefetches, MG_CACHE, "pldns_cache_prefetches_total",	\
	    NULL, NULL,							\
	    "Queries sent upstream in the background to refresh popular cache " \
	    "entries close to expiry.", "cache", "prefetches")		\
	X(up_tcp_retries, MG_UPSTREAM, "pldns_upstream_tcp_retries_total", \
	    NULL, NULL, "Truncated upstream answers asked again over TCP.", \
	    "forwarding", "tcp_retries")				\
	X(up_failed, MG_UPSTREAM, "pldns_upstream_failed_total", NULL, NULL, \
	    "Forwarded queries that no upstream server answered in time.", \
	    "forwarding", "failed")					\
	X(up_overflow, MG_UPSTREAM, "pldns_upstream_overflow_total", NULL, NULL, \
	    "Forwarded queries refused because max_inflight was reached.", \
	    "forwarding", "overflow")					\
	X(up_coalesced, MG_UPSTREAM, "pldns_upstream_coalesced_total",	\
	    NULL, NULL,							\
	    "Queries that joined an identical query already sent upstream.", \
	    "forwarding", "coalesced")					\
	X(up_spoofed, MG_UPSTREAM, "pldns_spoofed_replies_total", NULL, NULL, \
	    "Upstream replies ignored because their ID or question did not " \
	    "match (RFC 5452).", "forwarding", "spoofed")		\
	X(up_late, MG_UPSTREAM, "pldns_upstream_late_replies_total", NULL, NULL, \
	    "Upstream replies to a try of a query that had already been answered " \
	    "by another try or given up: slow, not forged.",		\
	    "forwarding", "late_replies")				\
	X(up_tcp_failures, MG_UPSTREAM, "pldns_upstream_tcp_failures_total", \
	    NULL, NULL,							\
	    "TCP attempts after a truncated upstream answer that failed (refused, " \
	    "closed or timed out without an answer).",			\
	    "forwarding", "tcp_failures")				\
	X(missing, MG_MISSING, "pldns_missing_queries_total", NULL, NULL, \
	    "Queries for names the local zones lack (NXDOMAIN from local data, " \
	    "the public answer under missing = fallback, NXDOMAIN under a " \
	    "public twin).", "missing", "queries")

#endif
