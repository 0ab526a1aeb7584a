/*
 * config_keys: every configuration key, with its type, default, bounds and
 * documentation (config.h).  config.c checks a file against this table;
 * check-config and pldns.ini(5) are written from it.
 */
#include <limits.h>
#include <stddef.h>

#include "data/config.h"

#define TTL_MAX		2147483647UL	/* RFC 2181 8 */

#define CFG(m)	.off = offsetof(struct config, m), \
		.size = sizeof(((struct config *)0)->m)
#define CFGL(m, n) CFG(m), .count_off = offsetof(struct config, n)
#define FWDL(m, n) .off = offsetof(struct forward_conf, m), \
		.size = sizeof(((struct forward_conf *)0)->m), \
		.count_off = offsetof(struct forward_conf, n)
#define ZON(m)	.off = offsetof(struct zone_conf, m), \
		.size = sizeof(((struct zone_conf *)0)->m)
#define ZONL(m, n) ZON(m), .count_off = offsetof(struct zone_conf, n)
#define AZ(m)	.off = offsetof(struct azure_conf, m), \
		.size = sizeof(((struct azure_conf *)0)->m)
#define AZL(m, n) AZ(m), .count_off = offsetof(struct azure_conf, n)
#define KEY(m)	.off = offsetof(struct key_conf, m), \
		.size = sizeof(((struct key_conf *)0)->m)

const struct config_key config_keys[] = {
	/* [server] */
	{ "server", "listen", CT_ADDRLIST, "127.0.0.1:53, [::1]:53",
	    "Addresses to answer DNS queries on, over UDP and TCP; each address "
	    "may carry a port (53 when none), and an IPv6 address with a port is "
	    "written in brackets, as in [::1]:5353.",
	    .flags = CK_SPACES | CK_NONEMPTY, CFGL(listen, nlisten) },
	{ "server", "workers", CT_UINT, "auto",
	    "Number of worker threads answering queries, from 1 to 64, or auto "
	    "for one per CPU.",
	    .min = 1, .max = 64, .flags = CK_AUTO, CFG(workers) },
	{ "server", "tcp_idle_ms", CT_UINT, "10000",
	    "Milliseconds a TCP connection may stay idle before pldns closes it.",
	    .min = 100, .max = 600000, CFG(tcp_idle_ms) },
	{ "server", "tcp_max_conns", CT_UINT, "256",
	    "Maximum number of TCP connections open at the same time.",
	    .min = 1, .max = 65535, CFG(tcp_max_conns) },
	{ "server", "tcp_max_per_client", CT_UINT, "32",
	    "Maximum number of TCP connections open at the same time from one "
	    "client address.",
	    .min = 1, .max = 65535, CFG(tcp_max_per_client) },
	{ "server", "tcp_max_queries", CT_UINT, "0",
	    "Number of queries pldns answers on one TCP connection before "
	    "closing it; 0 means no limit.",
	    .min = 0, .max = UINT_MAX, CFG(tcp_max_queries) },
	{ "server", "user", CT_STRING, "pldns, when that user exists",
	    "User that pldns switches to once its sockets are open.",
	    .flags = CK_UNSET, CFG(user) },
	{ "server", "allow", CT_CIDRLIST,
	    "127.0.0.0/8, ::1/128, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, "
	    "100.64.0.0/10, fc00::/7, fe80::/10",
	    "Client address prefixes that may send queries; pldns treats queries "
	    "from any other address as refuse_action says.",
	    .flags = CK_SPACES | CK_NONEMPTY, CFGL(allow, nallow) },
	{ "server", "allow_forward", CT_CIDRLIST, "",
	    "Client address prefixes whose queries pldns may forward to upstream "
	    "servers; when empty, every client that allow admits may have its "
	    "queries forwarded.",
	    .flags = CK_SPACES, CFGL(allow_forward, nallow_forward) },
	{ "server", "refuse_action", CT_ENUM, "refuse",
	    "What pldns does with a query from a client that allow does not "
	    "admit: refuse answers REFUSED, drop sends no answer at all.",
	    .values = "refuse|drop", CFG(refuse_action) },
	{ "server", "rrl_rate", CT_UINT, "0",
	    "Response rate limit: the number of responses per second pldns "
	    "sends to one client network (a /24 for IPv4, a /56 for IPv6); "
	    "0 turns rate limiting off.",
	    .min = 0, .max = 1000000, CFG(rrl_rate) },
	{ "server", "rrl_slip", CT_UINT, "2",
	    "When rate limiting, every rrl_slip-th response that would be "
	    "dropped is sent truncated instead, so that genuine clients retry "
	    "over TCP; 0 drops them all.",
	    .min = 0, .max = 10, CFG(rrl_slip) },
	{ "server", "cookie_secret", CT_STRLIST, "a random secret made at start",
	    "Secrets for the server DNS cookies (RFC 7873, in the form of "
	    "RFC 9018) that pldns gives its clients, each 32 hexadecimal digits "
	    "(128 bits) and at most 4, of which the first makes cookies and all "
	    "are accepted, so that the servers of an anycast pair given the same "
	    "secret accept each other's cookies and the previous secret, listed "
	    "second, still holds while a new one is rolled out (pldns never "
	    "requires a cookie, and counts valid and invalid ones in its metrics).",
	    .flags = CK_UNSET | CK_SPACES | CK_SECRET,
	    CFGL(cookie_secret, ncookie_secret) },
	{ "server", "state_dir", CT_PATH,
	    "the directory secondary next to the configuration file",
	    "Directory where pldns keeps the zones it pulls from a primary "
	    "server (one file per zone, NAME.zone) and the last good sync of "
	    "each [azure] section (azure-NAME.json), so that a restart serves "
	    "them at once; a relative path is taken from the directory of the "
	    "configuration file.",
	    .flags = CK_UNSET, CFG(state_dir) },

	/* [upstream] */
	{ "upstream", "servers", CT_STRLIST,
	    "the nameserver lines of /etc/resolv.conf",
	    "Upstream name servers that pldns forwards queries to, each an "
	    "address with an optional port (53 when none) or "
	    "tls://address[:port][#name] for DNS over TLS (port 853 when none); "
	    "by default pldns takes the nameserver lines of /etc/resolv.conf, "
	    "leaving out its own listen addresses.",
	    .flags = CK_UNSET | CK_SPACES, CFGL(upstream_specs, nupstream_specs) },
	{ "upstream", "timeout_ms", CT_UINT, "1000",
	    "Retransmission timeout in milliseconds for an upstream server not "
	    "yet heard from, and the largest one: pldns measures each server's "
	    "round-trip time and its variation (RFC 6298) and asks again, the next "
	    "server or the same, when a try has had no answer for about one round "
	    "trip more than usual (at least 200 ms, at most timeout_ms).  Earlier "
	    "tries stay valid: a reply slower than this still answers the query.",
	    .min = 50, .max = 60000, CFG(timeout_ms) },
	{ "upstream", "deadline_ms", CT_UINT, "2800",
	    "Milliseconds after which pldns gives up on a forwarded query and "
	    "answers SERVFAIL; it must not be less than timeout_ms.  Tries are "
	    "retransmitted until then.  The default answers before a Windows DNS "
	    "server forwarding to pldns gives up (3 s) and well within a stub "
	    "resolver's wait (glibc: 5 s).",
	    .min = 100, .max = 120000, CFG(deadline_ms) },
	{ "upstream", "tls_ca_file", CT_PATH, "the system's CA store",
	    "PEM file of the certificate authorities that DNS over TLS upstream "
	    "certificates must chain to; by default the system's store "
	    "(/etc/ssl/certs).",
	    .flags = CK_UNSET, CFG(tls_ca_file) },
	{ "upstream", "case_randomization", CT_BOOL, "no",
	    "Randomize the case of the letters of each question sent upstream "
	    "(the 0x20 technique) and accept only replies that echo it exactly, "
	    "which makes spoofed replies harder to forge.",
	    CFG(case_randomization) },
	{ "upstream", "cookies", CT_BOOL, "yes",
	    "Send DNS cookies (RFC 7873) to upstream servers and check the "
	    "client cookie echoed in their replies.",
	    CFG(cookies) },
	{ "upstream", "max_inflight", CT_UINT, "1000",
	    "Maximum number of queries waiting for an answer from one upstream "
	    "server at the same time.",
	    .min = 1, .max = 65535, CFG(max_inflight) },
	{ "upstream", "trust_ad", CT_BOOL, "no",
	    "Pass the AD (authentic data) bit of upstream answers on to clients: "
	    "say yes only when every upstream server validates DNSSEC and the "
	    "path to it is trusted, since pldns does not validate; by default "
	    "pldns clears AD, as BIND and Unbound do when they do not validate.",
	    CFG(trust_ad) },

	/* [cache] */
	{ "cache", "size", CT_SIZE, "64M",
	    "Memory for the cache of upstream answers, in bytes with an "
	    "optional K, M or G suffix; 0 turns the cache off.",
	    CFG(cache_size) },
	{ "cache", "min_ttl", CT_UINT, "0",
	    "Shortest time, in seconds, that pldns keeps an upstream answer, "
	    "whatever its TTL says.",
	    .min = 0, .max = TTL_MAX, CFG(cache_min_ttl) },
	{ "cache", "max_ttl", CT_UINT, "86400",
	    "Longest time, in seconds, that pldns keeps an upstream answer, "
	    "whatever its TTL says; clients are never told a longer TTL, not "
	    "even on the first, uncached answer (a TTL with the top bit set is "
	    "taken as 0, RFC 2181 section 8).",
	    .min = 0, .max = TTL_MAX, CFG(cache_max_ttl) },
	{ "cache", "serve_stale", CT_BOOL, "yes",
	    "Whether pldns answers from expired cache entries when no upstream "
	    "server answers in time.",
	    CFG(serve_stale) },
	{ "cache", "prefetch", CT_BOOL, "yes",
	    "Whether pldns refreshes popular cache entries before they expire: "
	    "an entry that has answered at least two queries and has less than "
	    "a tenth of its TTL left is asked for again upstream in the "
	    "background, once, while the client gets the cached answer at once.",
	    CFG(prefetch) },
	{ "cache", "stale_answer_client_timeout_ms", CT_UINT, "1000",
	    "Milliseconds a client waits for the upstream before pldns answers "
	    "it from an expired cache entry, with serve_stale on and such an "
	    "entry in the cache of any worker (RFC 8767's client response "
	    "timer); the upstream query goes on and refreshes the cache when "
	    "its answer comes.  0 gives the expired answer at once; a value not "
	    "less than deadline_ms leaves it to the deadline.",
	    .min = 0, .max = 120000, CFG(stale_client_timeout_ms) },

	/* [records] */
	{ "records", "sources", CT_PATHLIST, "",
	    "Files with local records, separated by commas, each optionally "
	    "prefixed with its format (csv:, json:, hosts: or zone:; without a "
	    "prefix pldns detects the format from the content); a relative path "
	    "is taken from the directory of the configuration file.  A "
	    "directory stands for every file in it whose name ends in .csv, "
	    ".json, .hosts or .zone (read in that format, in name order; hidden "
	    "files and other names are left out); it may be empty, and a file "
	    "added to it later is loaded like a changed one.",
	    .flags = CK_READ, CFGL(sources, nsources) },
	{ "records", "ttl", CT_UINT, "10",
	    "TTL, in seconds, of answers from local records.",
	    .min = 0, .max = TTL_MAX, CFG(record_ttl) },
	{ "records", "allow_public", CT_BOOL, "no",
	    "Whether local records may hold public addresses; by default only "
	    "private endpoint addresses (10.0.0.0/8, 172.16.0.0/12, "
	    "192.168.0.0/16, 100.64.0.0/10 and fc00::/7) are accepted.",
	    CFG(allow_public) },
	{ "records", "strict", CT_BOOL, "yes",
	    "Whether a problem in a record source is an error that stops pldns "
	    "from loading it; with no it is only a warning.",
	    CFG(strict) },
	{ "records", "missing", CT_ENUM, "nxdomain",
	    "How pldns answers a query for a name that a local zone does not "
	    "hold: nxdomain answers NXDOMAIN, fallback forwards the query "
	    "upstream.",
	    .values = "nxdomain|fallback", CFG(missing) },
	{ "records", "allow_empty", CT_BOOL, "no",
	    "Whether a record source that yields no records is accepted; by "
	    "default it is an error (an empty export, an interrupted download "
	    "or a truncated file would otherwise make every name of its zones "
	    "disappear), and on a reload it holds the new data back.",
	    CFG(allow_empty) },
	{ "records", "max_drop", CT_UINT, "10",
	    "Percentage of all records that a reload may remove before pldns "
	    "holds it back and keeps serving the data it has, until pldns ctl "
	    "reload --force (or POST /reload?force=1) applies it; a reload may "
	    "always remove 2 records, and one that removes every record of a "
	    "zone is always held.",
	    .min = 0, .max = 100, CFG(max_drop) },

	/* [log] */
	{ "log", "level", CT_ENUM, "info",
	    "Least severe kind of message that pldns logs.",
	    .values = "error|warning|info|debug", CFG(log_level) },
	{ "log", "query_log", CT_BOOL, "no",
	    "Whether pldns logs every query with its client, name, type and "
	    "answer.",
	    CFG(query_log) },

	/* [control] */
	{ "control", "listen", CT_STRING, "127.0.0.1:8053",
	    "Address of the control interface (port 8053 when none is given); "
	    "empty or none turns the control interface off.",
	    .flags = CK_NONE, CFG(control_listen) },
	{ "control", "token_file", CT_PATH, NULL,
	    "File holding the secret token that control requests must present; "
	    "a relative path is taken from the directory of the configuration "
	    "file.",
	    CFG(token_file) },

	/* [doctor] */
	{ "doctor", "expect_subnets", CT_CIDRLIST, "",
	    "Address prefixes that pldns doctor expects the address of every "
	    "local record to be in, such as the virtual network of the private "
	    "endpoints (10.1.0.0/16); when empty, any private address is "
	    "accepted.",
	    .flags = CK_SPACES, CFGL(expect_subnets, nexpect_subnets) },

	/* [forward "NAME"] */
	{ "forward", "servers", CT_ADDRLIST, NULL,
	    "Name servers that pldns forwards queries for NAME and the names "
	    "below it to, instead of the upstream servers, each an address with "
	    "an optional port (53 when none); required.",
	    .flags = CK_REQUIRED | CK_SPACES | CK_NONEMPTY,
	    FWDL(servers, nservers) },

	/* [zone "NAME"] */
	{ "zone", "file", CT_PATH, NULL,
	    "Zone file (RFC 1035 format) holding records of the zone; a "
	    "relative path is taken from the directory of the configuration "
	    "file.",
	    .flags = CK_READ, ZON(file) },
	{ "zone", "twin", CT_STRLIST, "none beyond the built-in Azure table",
	    "Public DNS suffixes whose names pldns answers from this zone, in "
	    "addition to those its built-in table of Azure private link zones "
	    "gives.",
	    .flags = CK_UNSET | CK_DOMAIN | CK_SPACES, ZONL(twins, ntwins) },
	{ "zone", "missing", CT_ENUM, "the missing setting of [records]",
	    "How pldns answers a query for a name that this zone does not hold, "
	    "overriding missing of [records] for this zone.",
	    .values = "nxdomain|fallback", .flags = CK_UNSET, ZON(missing) },
	{ "zone", "multi", CT_BOOL, "no",
	    "Whether a name in this zone may have several addresses; with no, "
	    "two sources giving one name different addresses is an error.",
	    .flags = CK_UNSET, ZON(multi) },
	{ "zone", "allow_transfer", CT_CIDRLIST, "",
	    "Client address prefixes that may transfer the zone with AXFR or "
	    "IXFR; when empty, nobody may; with key, a request must also be "
	    "signed with that key.",
	    .flags = CK_SPACES, ZONL(allow_transfer, nallow_transfer) },
	{ "zone", "notify", CT_ADDRLIST, "",
	    "Secondary servers that pldns sends a NOTIFY to whenever the "
	    "zone's serial changes, each an address with an optional port (53 "
	    "when none).",
	    .flags = CK_SPACES, ZONL(notify, nnotify) },
	{ "zone", "primary", CT_ADDRLIST, "none: the zone is not a secondary zone",
	    "Primary servers that pldns pulls the zone from with IXFR or AXFR, "
	    "tried in order, each an address with an optional port (53 when "
	    "none); pldns then keeps the zone in state_dir and refreshes it as "
	    "its SOA record and NOTIFY messages say.",
	    .flags = CK_SPACES | CK_NONEMPTY, ZONL(primaries, nprimaries) },
	{ "zone", "key", CT_STRING, "none",
	    "Name of the TSIG key (a [key] section) that transfers of the zone "
	    "must be signed with, and that pldns signs its NOTIFY messages and "
	    "its pulls from primary with.",
	    .flags = CK_UNSET, ZON(key) },

	/* [key "NAME"] */
	{ "key", "algorithm", CT_ENUM, "hmac-sha256",
	    "HMAC algorithm of the TSIG key.",
	    .values = "hmac-sha256|hmac-sha1|hmac-sha224|hmac-sha384|hmac-sha512",
	    KEY(algorithm) },
	{ "key", "secret", CT_STRING, NULL,
	    "The shared secret of the TSIG key, in base64, as tsig-keygen "
	    "prints it; required.",
	    .flags = CK_REQUIRED, KEY(secret) },

	/* [azure "NAME"] */
	{ "azure", "auth", CT_ENUM, "arc",
	    "How pldns gets its token for Azure Resource Manager: arc asks the "
	    "Azure Arc agent of this machine (no secret at all), secret and "
	    "certificate use an application's client secret or certificate, "
	    "federated a token from another identity provider, vm the managed "
	    "identity of the Azure virtual machine pldns runs on.",
	    .values = "arc|secret|certificate|federated|vm", AZ(auth) },
	{ "azure", "tenant", CT_STRING, "none",
	    "The Entra ID tenant (directory) GUID; required with secret, "
	    "certificate and federated.",
	    .flags = CK_UNSET, AZ(tenant) },
	{ "azure", "client_id", CT_STRING, "none",
	    "The application (client) GUID; with arc and vm, a user-assigned "
	    "identity's client GUID instead of the system-assigned identity.",
	    .flags = CK_UNSET, AZ(client_id) },
	{ "azure", "secret_file", CT_PATH, "none",
	    "File holding the client secret (auth = secret); pldns refuses a "
	    "file that its group or others may read.",
	    .flags = CK_UNSET, AZ(secret_file) },
	{ "azure", "certificate_file", CT_PATH, "none",
	    "PEM file with the certificate and its private key (auth = "
	    "certificate), with which pldns signs its client assertion.",
	    .flags = CK_UNSET, AZ(certificate_file) },
	{ "azure", "token_file", CT_PATH, "none",
	    "File holding a JWT issued by another identity provider (auth = "
	    "federated); read again at each use, as it is renewed by others.",
	    .flags = CK_UNSET, AZ(token_file) },
	{ "azure", "subscriptions", CT_STRLIST, NULL,
	    "Subscription GUIDs to read, or all for every subscription the "
	    "identity can read; required.",
	    .flags = CK_REQUIRED | CK_SPACES | CK_NONEMPTY,
	    AZL(subscriptions, nsubscriptions) },
	{ "azure", "read", CT_STRLIST, "zones",
	    "What to read: zones (the record sets of the private DNS zones "
	    "whose names are Azure private link zones or configured zones) "
	    "and endpoints (the DNS configurations and zone groups of private "
	    "endpoints).",
	    .flags = CK_SPACES | CK_NONEMPTY, AZL(read, nread) },
	{ "azure", "interval", CT_UINT, "300",
	    "Seconds between syncs.",
	    .min = 1, .max = 604800, AZ(interval) },
	{ "azure", "cloud", CT_ENUM, "public",
	    "The Azure cloud, which sets management_url and login_url: public, "
	    "usgov (Azure Government) or china (Azure operated by 21Vianet).",
	    .values = "public|usgov|china", AZ(cloud) },
	{ "azure", "management_url", CT_STRING, "the cloud's",
	    "Base URL of Azure Resource Manager (https), for Azure Stack Hub "
	    "or tests; the token's scope is this URL with /.default.",
	    .flags = CK_UNSET, AZ(management_url) },
	{ "azure", "login_url", CT_STRING, "the cloud's",
	    "Base URL of the Entra ID login endpoint (https).",
	    .flags = CK_UNSET, AZ(login_url) },
	{ "azure", "identity_url", CT_STRING, "http://127.0.0.1:40342",
	    "Base URL of the managed identity endpoint: the Azure Arc agent's "
	    "(auth = arc) or the instance metadata service (auth = vm, whose "
	    "default is http://169.254.169.254).",
	    .flags = CK_UNSET, AZ(identity_url) },
	{ "azure", "identity_key_dir", CT_PATH, "/var/opt/azcmagent/tokens",
	    "Directory that the Azure Arc agent's challenge files must be in; "
	    "pldns reads no challenge file elsewhere.",
	    .flags = CK_UNSET, AZ(identity_key_dir) },
	{ "azure", "ca_file", CT_PATH, "the system's CA store",
	    "PEM file of further certificate authorities to trust for the "
	    "HTTPS endpoints.",
	    .flags = CK_UNSET | CK_READ, AZ(ca_file) },
	{ "azure", "proxy", CT_STRING, "from https_proxy or HTTPS_PROXY",
	    "HTTPS proxy for the calls to Azure, as a URL; none calls "
	    "directly, whatever the environment says.",
	    .flags = CK_UNSET | CK_NONE, AZ(proxy) },

	{ .section = NULL }
};
