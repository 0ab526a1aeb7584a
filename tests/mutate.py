#!/usr/bin/python3
"""Mutation testing: do the tests notice when the code that decides what
clients are told goes wrong?

Each row of MUTANTS below changes one line (or a few) of src/: a bound off
by one, a check left out, a flag not copied.  For each, the mutant is
applied to a scratch copy of the tree, built, and run against tests that
should fail because of it.  A mutant the tests notice is "killed"; one they
do not is a "survivor": either a test is missing (write it) or the mutant
behaves exactly like the original ("equivalent": say why in its row, and it
is left out of the score).

  tests/mutate.py                  every row, then the score
  tests/mutate.py answer- wire-    rows whose id contains a word
  tests/mutate.py --list           the table, without building anything
  contrib/check.sh mutate [ARGS]   the same, after installing what tests need

How a run goes.  The tree (every file git knows, as it is now, committed or
not) is copied into the work directory (--workdir, default
/tmp/pldns-mutate-$USER), configured once without sanitizers, and built;
later runs copy only files that changed, so make rebuilds only those.  Every
row's snippet must occur exactly once in its file, or the run stops before
building anything: when the code moves, re-anchor the row (keep a snippet
long enough to be unique, short enough to survive unrelated edits).  Then,
per mutant: patch, make, run its unit tests (stop at the first failure),
then every other unit test, and for the survivors of all unit tests, after
one run of the same system tests on the unchanged build (a test that fails
there would "kill" every mutant), the row's system tests (all of them when
the row names none, unless --quick; all of them for every row with
--thorough).  The file is put back after each
mutant.  A test that hangs past its time limit kills the mutant; a unit
test the row does not name kills it only if it fails twice (some tests
time things, and a loaded machine can fail them once).

A row:
  M(id, file, snippet, replacement, unit=[...], system=[...], why=...)
    unit     unit test programs (tests/unit/NAME), tried first
    system   (test file, [words]) pairs: the file's tests whose names
             contain one of the words ([] for all of them)
    why      what the mutant breaks, as a client would see it
    equivalent  instead of a test: why no test can tell it apart (not run
             unless --run-equivalent, not counted)
    owner    a note that another change is reworking that code

Exit status: 0 when every mutant run was killed, 1 when some survived,
2 when the table or the build is broken.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = "/usr/bin/python3"
UNIT_TIMEOUT = 120
SYSTEM_TIMEOUT = 600


class M:
    def __init__(self, id, file, old, new, unit=(), system=(), why="",
                 equivalent=None, owner=None):
        self.id = id
        self.file = "src/" + file
        self.old = old
        self.new = new
        self.unit = list(unit)
        self.system = list(system)
        self.why = why
        self.equivalent = equivalent
        self.owner = owner


# Snippets are exact text of src/FILE, tabs included ("\t").
MUTANTS = [
    # ---- answer.c: local answers, synthesis, splicing, replay ----
    M("answer-udp-cap", "engine/answer.c",
      "return l > 1232 ? 1232 : l;", "return l;",
      unit=["test_answer"], system=[("test_core.py", ["EDNS"])],
      why="UDP answers as large as the client offers, past 1232 (fragments)"),
    M("answer-udp-floor", "engine/answer.c",
      "l = q->edns.udp_size < 512 ? 512 : q->edns.udp_size;",
      "l = q->edns.udp_size;",
      unit=["test_answer"],
      why="an EDNS UDP size below 512 shrinks answers below what DNS promises"),
    M("answer-neg-ttl", "engine/answer.c",
      "ttl = soa->ttl < min ? soa->ttl : min;", "ttl = soa->ttl;",
      unit=["test_answer"], system=[("test_core.py", ["NXDOMAIN carries"])],
      why="negative answers cached for the SOA TTL, not MINIMUM (RFC 2308 3)"),
    M("answer-synth-aa", "engine/answer.c",
      "\tif (ab.synth)\n\t\tab.aa = false;\n", "",
      equivalent="local_resolve() sets aa = !synth at every node it answers "
      "from and at NXDOMAIN, after synth is set; the one return right after "
      "synthesis (a CNAME or ANY query) comes before any node, with aa still "
      "false from ab_begin(), since such queries follow no local CNAME"),
    M("answer-nx-aa", "engine/answer.c",
      "\tab->rcode = RCODE_NXDOMAIN;\n\tab->aa = !ab->synth;",
      "\tab->rcode = RCODE_NXDOMAIN;\n\tab->aa = true;",
      equivalent="the callers clear AA after local_resolve() whenever the "
      "chain was synthesized (answer_local_routed) or spliced "
      "(answer_upstream); the two guards are redundant with each other, "
      "and test_twin_nxdomain_not_aa checks what a client sees"),
    M("answer-chain-max", "engine/answer.c",
      "if (ab->chain >= ANSWER_MAX_CHAIN)", "if (ab->chain > ANSWER_MAX_CHAIN)",
      unit=["test_answer"],
      why="one CNAME hop more than the limit is followed"),
    M("answer-loop-self", "engine/answer.c",
      "return !ab_seen(ab, target) && !wire_name_equal(from, target);",
      "return !ab_seen(ab, target);",
      equivalent="FROM is stored in seen[] just before ab_seen() runs, so a "
      "CNAME to itself is caught by ab_seen() alone; the second test is a "
      "cheap early exit"),
    M("answer-loop-seen", "engine/answer.c",
      "return !ab_seen(ab, target) && !wire_name_equal(from, target);",
      "return !wire_name_equal(from, target);",
      unit=["test_answer"], system=[("test_split.py", ["loop"])],
      why="a CNAME loop of two names is followed to the hop limit"),
    M("answer-twin-ent", "engine/answer.c",
      "if (w->n == NULL || w->n->nrrsets == 0) {", "if (w->n == NULL) {",
      unit=["test_answer"],
      why="a public name whose privatelink twin is an empty non-terminal "
      "is synthesized into a chain to nothing"),
    M("answer-twin-cname-qtype", "engine/answer.c",
      "\tif (qtype == TYPE_CNAME || qtype == TYPE_ANY)\n\t\treturn LRES_DONE;",
      "\tif (qtype == TYPE_ANY)\n\t\treturn LRES_DONE;",
      unit=["test_answer"], system=[("test_split.py", ["CNAME qtype"])],
      why="a CNAME query for a public name gets more than the CNAME"),
    M("answer-cd-copy", "engine/answer.c",
      "uint16_t flags = WIRE_QR | WIRE_RA | (q->hdr.flags & (WIRE_RD | WIRE_CD)) | extra_flags;",
      "uint16_t flags = WIRE_QR | WIRE_RA | (q->hdr.flags & WIRE_RD) | extra_flags;",
      unit=["test_answer"],
      why="the CD bit of the query is not echoed in local answers (RFC 6840 5.9)"),
    M("answer-twin-cut", "engine/answer.c",
      "\tif (z == NULL)\n\t\treturn STEP_ON;",
      "\tif (z == NULL || twin)\n\t\treturn STEP_ON;",
      unit=["test_answer"], system=[("test_split.py", ["Site Recovery", "spliced"])],
      why="an upstream chain that reaches a public name whose privatelink "
      "twin is local is not cut there: the client gets the public address"),
    M("answer-authority-local", "engine/answer.c",
      "\tif (rr->type == TYPE_OPT || rr->type == 250 /* TSIG */ ||\n\t    owner_is_local(s, rr->owner))\n\t\treturn false;",
      "\tif (rr->type == TYPE_OPT || rr->type == 250 /* TSIG */)\n\t\treturn false;",
      unit=["test_answer"], system=[("test_split.py", ["authority", "fallback"])],
      why="upstream authority records about names in local zones reach clients"),
    M("answer-additional-tsig", "engine/answer.c",
      "rr->type == TYPE_OPT || rr->type == 250 /* TSIG */ ||",
      "rr->type == TYPE_OPT ||",
      unit=["test_answer"],
      why="an upstream's TSIG record is passed on to the client"),
    M("answer-ad-spliced", "engine/answer.c",
      "info->ad_ok = !w->spliced && w->ad &&",
      "info->ad_ok = w->ad &&",
      unit=["test_answer"],
      why="a spliced answer (partly local data) keeps the upstream's AD bit"),
    M("answer-forward-aa", "engine/answer.c",
      "\t/* A forwarder's reply is never authoritative, spliced or not. */\n\tw->ab.aa = false;\n",
      "",
      unit=["test_answer"], system=[("test_split.py", ["spliced"])],
      why="a spliced answer claims authority"),
    M("answer-replay-age", "engine/answer.c",
      "uint32_t t = r->ttl0[i] > age ? r->ttl0[i] - age : 0;",
      "uint32_t t = r->ttl0[i];",
      unit=["test_answer", "test_cache"], system=[("test_split.py", ["from cache"])],
      why="a replayed cached answer does not age its TTLs"),
    M("answer-replay-room", "engine/answer.c",
      "if (r->len > answer_replay_room(q, limit) ||",
      "if (r->len > limit ||",
      unit=["test_answer"],
      why="a replayed answer that fits only without our OPT loses it, or "
      "is cut"),
    M("answer-keep-truncated", "engine/answer.c",
      "if (info->truncated || info->nparts > 1 ||",
      "if (info->nparts > 1 ||",
      unit=["test_answer"],
      why="a truncated answer is kept for replay to other clients"),
    M("answer-rrsig-type", "engine/answer.c",
      "((how & COPY_SIGS) && rrsig_covers(resp, rr, type)))",
      "((how & COPY_SIGS) && rr->type == TYPE_RRSIG))",
      unit=["test_answer"],
      why="signatures of other types at the end of the chain are passed on"),
    M("answer-dname-self", "engine/answer.c",
      "\t\t    !wire_name_equal(rr->owner, w->cur) &&\n", "",
      unit=["test_answer"], system=[("test_split.py", ["DNAME"])],
      why="a DNAME is applied to its own owner name (RFC 6672 2.3 says not)"),
    M("answer-bailiwick", "engine/answer.c",
      "\treturn owner_routed_to(s, up, rr->owner) ||",
      "\treturn 1 ||",
      unit=["test_answer"], system=[("test_chain.py", ["additional records out"])],
      why="a [forward] server's authority and additional records about "
      "names routed elsewhere reach the client (cache poisoning)"),
    M("answer-bailiwick-soa", "engine/answer.c",
      "(rr->type == TYPE_SOA && wire_name_under(end, rr->owner));",
      "rr->type == TYPE_SOA;",
      unit=["test_answer"],
      why="a negative answer carries the SOA of a zone above no name of the chain"),
    M("answer-part-fw", "engine/answer.c",
      "\tif (snapshot_forward(s, name) != up->fw)\n\t\treturn false;\n", "",
      unit=["test_answer"], system=[("test_chain.py", ["out of its suffix"])],
      why="a [forward] server's CNAME chain out of its suffix is trusted "
      "instead of continued through the server that name is routed to"),
    M("answer-dname-routed", "engine/answer.c",
      "*dname < 0 &&\n\t\t    owner_routed_to(w->s, &w->up, rr->owner))",
      "*dname < 0)",
      unit=["test_answer"],
      why="a DNAME owned by a name routed to another server redirects the chain"),
    M("answer-ad-parts", "engine/answer.c",
      "w->ad = w->ad && (w->up.h.flags & WIRE_AD);",
      "w->ad = (w->up.h.flags & WIRE_AD);",
      unit=["test_answer"],
      why="an answer from several upstream responses has AD when only the "
      "last had it"),
    M("answer-trust-ad", "engine/answer.c",
      "ad &&\n\t\t    snapshot_config(s)->trust_ad;", "ad;",
      unit=["test_answer"], system=[("test_core.py", ["AD from upstream"])],
      why="the upstream's AD bit is passed on without trust_ad = yes"),

    # ---- upstream.c: queries out, replies in ----
    M("upstream-cd", "engine/upstream_msg.c",
      ".flags = WIRE_RD | (q->hdr.flags & WIRE_CD),", ".flags = WIRE_RD,",
      unit=["test_upstream"],
      why="the client's CD bit is not passed upstream"),
    M("upstream-do", "engine/upstream_msg.c",
      "wire_put_opt(&b, 1232, 0, (q->edns.flags & EDNS_DO) != 0, -1);",
      "wire_put_opt(&b, 1232, 0, false, -1);",
      unit=["test_upstream"], system=[("test_core.py", ["DO bit"])],
      why="the client's DO bit is not passed upstream"),
    M("upstream-match-qtype", "engine/upstream_msg.c",
      "return wire_name_equal(qn, rn) && memcmp(query + qp, resp + rp, 4) == 0;",
      "return wire_name_equal(qn, rn);",
      unit=["test_upstream"], system=[("test_core.py", ["another QTYPE"])],
      why="a reply for another type or class is taken as the answer"),
    M("upstream-match-case", "engine/upstream_msg.c",
      "\treturn memcmp(qn, rn, (size_t)l) == 0;\n}",
      "\treturn true;\n}",
      unit=["test_upstream"], system=[("test_core.py", ["another QTYPE"])],
      why="with case_randomization a reply with the wrong case is accepted"),
    M("upstream-match-id", "engine/upstream_msg.c",
      "if (memcmp(query, resp, 2) != 0 || !(resp[2] & 0x80))",
      "if (!(resp[2] & 0x80))",
      unit=["test_upstream"], system=[("test_core.py", ["another ID"])],
      why="a TCP reply with another ID is taken as the answer"),
    M("upstream-match-noquestion", "engine/upstream_msg.c",
      "\tif (wire_get_u16(resp + 4) != 1)\n\t\treturn false;\n", "",
      unit=["test_upstream"],
      why="a reply with two questions is matched on its first"),
    M("upstream-tc-tcp", "engine/upstream_msg.c",
      "if (truncated && !stream)\n\t\treturn UPSTREAM_TRUNCATED;", "if (0)\n\t\treturn UPSTREAM_TRUNCATED;",
      unit=["test_upstream"], system=[("test_core.py", ["TC=1"])],
      why="a truncated upstream reply is passed on instead of asking over TCP"),
    M("upstream-refused-all", "engine/upstream.c",
      "\tif (req_all_failed(r)) {\n\t\treq_done(r, r->not_net",
      "\tif (0) {\n\t\treq_done(r, r->not_net",
      unit=["test_upstream"], system=[("test_core.py", ["port closed"])],
      why="when every server refused, pldns waits for the deadline"),
    M("upstream-cookie-client", "engine/upstream_msg.c",
      "\t\t\t\tif (len < UPSTREAM_COOKIE_CLIENT_LEN ||\n\t\t\t\t    memcmp(o + 4, c->client, UPSTREAM_COOKIE_CLIENT_LEN) != 0)",
      "\t\t\t\tif (len < UPSTREAM_COOKIE_CLIENT_LEN)",
      unit=["test_upstream"], system=[("test_safety.py", ["cookies"])],
      why="a reply with another client cookie is accepted (RFC 7873 5.3)"),
    M("upstream-rto", "engine/upstream.c",
      "\tms = s->rto_us / 1000;\n", "\tms = ceil_ms;\n",
      unit=["test_upstream"],
      why="a lost query is retransmitted only after timeout_ms, not after "
      "the server's RTO"),
    M("upstream-rttvar", "engine/upstream.c",
      "s->rto_us = s->srtt_us + MAX(RTO_G_US, 4 * s->rttvar_us);",
      "s->rto_us = s->srtt_us;",
      unit=["test_upstream"],
      why="the RTO leaves out the RTT's variation (RFC 6298 2.3): a server "
      "a little slower than usual is asked twice"),
    M("upstream-late-adopt", "engine/upstream.c",
      "\tif ((r->failed & bit) || (truncated && (r->tcp_tried & bit)))",
      "\tif (1)",
      unit=["test_upstream"],
      why="the answer to an earlier try, arriving after a retransmission "
      "went out, is thrown away"),

    # ---- worker_fwd.c, cookie.c, rdiff.c, server.c ----
    M("worker-rd0", "runtime/worker_fwd.c",
      "\tif (!(from->q.hdr.flags & WIRE_RD)) {", "\tif (0) {",
      system=[("test_core.py", ["RD=0"])],
      why="a query with RD clear that misses the cache is forwarded"),
    M("cookie-hash", "wire/cookie.c",
      "CRYPTO_memcmp(h, rs + 8, 8) == 0) {", "1) {",
      unit=["test_cookie"], system=[("test_conformance.py", ["cookies"])],
      why="any server cookie of the right shape is taken as valid"),
    M("cookie-lifetime", "wire/cookie.c",
      "age >= -COOKIE_SKEW && age <= COOKIE_LIFETIME) {",
      "age >= -COOKIE_SKEW) {",
      unit=["test_cookie"],
      why="a server cookie older than its lifetime stays valid (RFC 7873 7.1)"),
    M("rdiff-drop-bound", "data/rdiff.c",
      "return removed > allowed;", "return removed > allowed + 1;",
      unit=["test_rdiff"], system=[("test_guard.py", ["max_drop"])],
      why="a reload removing one record more than max_drop allows goes "
      "into service unasked"),
    M("server-guard-emptied", "runtime/server.c",
      "if ((gone = rdiff_emptied_zones(old, nw)) != NULL) {",
      "if ((gone = NULL) != NULL) {",
      system=[("test_guard.py", [])],
      why="a reload that empties a zone goes into service unasked"),

    # ---- wire.c: parsing bounds ----
    M("wire-ptr-forward", "wire/wire.c",
      "if (target >= limit || ++hops > WIRE_PTR_HOPS)", "if (++hops > WIRE_PTR_HOPS)",
      unit=["test_wire"],
      why="compression pointers may point forward (loops bounded only by hops)"),
    M("wire-name-max", "wire/wire.c",
      "if (p + 1 + c > len || olen + 1 + c + 1 > WIRE_NAME_MAX)",
      "if (p + 1 + c > len || olen + 1 + c > WIRE_NAME_MAX)",
      unit=["test_wire"],
      why="a 256-octet name is read"),
    M("wire-label-max", "wire/wire.c",
      "\t\tif (c > WIRE_LABEL_MAX)\n\t\t\treturn -1;\n\t\ti += 1 + (size_t)c;",
      "\t\ti += 1 + (size_t)c;",
      unit=["test_wire"],
      why="wire_name_len takes a label length octet above 63"),
    M("wire-query-ancount", "wire/wire.c",
      "if (h->qdcount > 1 || h->ancount != 0 || h->nscount != 0)",
      "if (h->qdcount > 1 || h->nscount != 0)",
      unit=["test_wire"],
      why="a query with an answer section is not FORMERR"),
    M("wire-question-short", "wire/wire.c",
      "if (n == -1 || it->len - p < 4)", "if (n == -1)",
      unit=["test_wire"],
      why="a question without its type and class is read past the packet"),
    M("wire-qr-drop", "wire/wire.c",
      "\tif (q->hdr.flags & WIRE_QR)\n\t\treturn WIRE_DROP;\n", "",
      unit=["test_wire"], system=[("test_core.py", ["QR set"])],
      why="a response sent to pldns is answered (reflection loops)"),
    M("wire-edns-optlen", "wire/wire.c",
      "\t\tif (olen > end - p)\n\t\t\treturn -1;\n", "",
      unit=["test_wire"],
      why="an EDNS option longer than its OPT RR is accepted"),
    M("wire-two-opt", "wire/wire.c",
      "if (rr.section != WIRE_SEC_ADDITIONAL || o->found ||",
      "if (rr.section != WIRE_SEC_ADDITIONAL ||",
      unit=["test_wire"],
      why="a query with two OPT records is not FORMERR (RFC 6891 6.1.1)"),
    M("wire-trailing", "wire/wire.c",
      "it->next == it->nrr &&\n\t    it->pos == it->len;", "it->next == it->nrr;",
      unit=["test_wire"],
      why="trailing garbage after the last record is accepted"),
    M("wire-rdlen", "wire/wire.c",
      "\tif (rr->rdlen > len - p)\n\t\treturn -1;\n", "",
      unit=["test_wire"],
      why="an RR whose RDLENGTH runs past the message is read"),

    # ---- cache.c: what is stored, for how long ----
    M("cache-max-ttl", "engine/cache.h",
      "return ttl < min ? min : ttl > max ? max : ttl;",
      "return ttl < min ? min : ttl;",
      unit=["test_cache"],
      why="max_ttl is not applied"),
    M("cache-min-ttl", "engine/cache.h",
      "return ttl < min ? min : ttl > max ? max : ttl;",
      "return ttl > max ? max : ttl;",
      unit=["test_cache"],
      why="min_ttl is not applied"),
    M("cache-ttl-highbit", "engine/cache.h",
      "\tif (ttl & 0x80000000u)\n\t\tttl = 0;\n", "",
      unit=["test_cache", "test_answer"],
      why="an upstream TTL with the top bit set is kept for max_ttl "
      "instead of read as 0 (RFC 2181 8)"),
    M("cache-neg-soa-min", "engine/cache.c",
      "\t\tif (soa_min < min)\n\t\t\tmin = soa_min;\n", "",
      unit=["test_cache"],
      why="a negative answer is kept past the SOA MINIMUM (RFC 2308 5)"),
    M("cache-neg-soa-ttl", "engine/cache.c",
      "\t\t    wire_get_u16(p - 4) == TYPE_SOA)\n\t\t\tt = ttl;\n",
      "\t\t    wire_get_u16(p - 4) == TYPE_SOA)\n\t\t\t;\n",
      unit=["test_cache"],
      why="the SOA of a cached negative answer shows its own TTL, not the "
      "negative TTL"),
    M("cache-age", "engine/cache.c",
      "put_u32(p, t > age ? t - age : 0);", "put_u32(p, t);",
      unit=["test_cache"],
      why="cached answers do not age"),
    M("cache-qtype", "engine/cache.c",
      "qq.qtype != q->qtype || ", "",
      unit=["test_cache"],
      why="an answer for another type is stored under the question's key"),
    M("cache-tc", "engine/cache.c",
      "(h->flags & WIRE_TC) || h->qdcount != 1 ||", "h->qdcount != 1 ||",
      unit=["test_cache"],
      why="a truncated answer is cached"),
    M("cache-neg-no-soa", "engine/cache.c",
      "\t\tif (!has_soa)\n\t\t\treturn -1;\n", "",
      unit=["test_cache"],
      why="a negative answer without SOA is cached (RFC 2308 5: must not)"),
    M("cache-ttl-zero", "engine/cache.c",
      "if (ttl != 0 && charge <= c->budget / ENTRY_SHARE &&",
      "if (charge <= c->budget / ENTRY_SHARE &&",
      unit=["test_cache"],
      why="an answer with TTL 0 is stored"),
    M("cache-sibling-stale", "engine/cache.c",
      "(!stale || stale_ok) &&\n\t\t    (best == CACHE_MISS",
      "(best == CACHE_MISS",
      unit=["test_cache"],
      why="another worker's expired entry is served with serve-stale off"),

    # ---- acl.c and addr.c: who is answered, what is private ----
    M("acl-forward-narrows", "engine/acl.c",
      "\tif (acl_check(cfg, sa) != ACL_ALLOW)\n\t\treturn false;\n", "",
      unit=["test_acl"],
      why="allow_forward admits a client that allow refuses"),
    M("acl-forward-default", "engine/acl.c",
      "\tif (cfg->nallow_forward == 0)\n\t\treturn true;\n", "",
      unit=["test_acl"], system=[("test_safety.py", ["access control"])],
      why="without allow_forward nobody may forward"),
    M("acl-drop", "engine/acl.c",
      "return cfg->refuse_action == REFUSE_DROP ? ACL_DROP : ACL_REFUSE;",
      "return ACL_REFUSE;",
      unit=["test_acl"], system=[("test_safety.py", ["drop"])],
      why="refuse_action = drop answers REFUSED"),
    M("acl-every-prefix", "engine/acl.c",
      "if (cidr_match(&list[i], sa))", "if (cidr_match(&list[0], sa))",
      unit=["test_acl"],
      why="only the first prefix of allow counts"),
    M("addr-ula", "util/addr.c",
      "return (a[0] & 0xfe) == 0xfc;", "return a[0] == 0xfc;",
      unit=["test_addr", "test_sources"],
      why="fd00::/8 (the ULA half in use) is not private"),
    M("addr-172-12", "util/addr.c",
      "(a[0] == 172 && (a[1] & 0xf0) == 16) ||",
      "(a[0] == 172 && (a[1] & 0xf8) == 16) ||",
      unit=["test_addr", "test_sources"],
      why="172.24.0.0/13 is not private"),
    M("addr-cgnat", "util/addr.c",
      "(a[0] == 100 && (a[1] & 0xc0) == 64);", "(a[0] == 100);",
      unit=["test_addr", "test_sources"],
      why="all of 100/8 is private, not only 100.64/10"),
    M("addr-v4mapped-private", "util/addr.c",
      "\t\tif (memcmp(a, v4mapped, sizeof(v4mapped)) != 0)\n\t\t\treturn (a[0] & 0xfe) == 0xfc;\n\t\ta += 12;",
      "\t\treturn (a[0] & 0xfe) == 0xfc;",
      unit=["test_addr"],
      why="::ffff:10.0.0.1 is not private"),
    M("addr-prefix-bits", "util/addr.c",
      "return ((a[whole] ^ b[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;",
      "return true;",
      unit=["test_addr", "test_acl"],
      why="a prefix whose length is not a multiple of 8 matches too much"),
    M("addr-v6-client-v4-prefix", "util/addr.c",
      "\t\t\tif (memcmp(a, v4mapped, sizeof(v4mapped)) != 0)\n\t\t\t\treturn false;\n\t\t\ta += 12;",
      "\t\t\ta += 12;",
      unit=["test_addr", "test_acl"],
      why="an IPv6 client matches an IPv4 prefix by its last 32 bits"),
    M("addr-prefix-range", "util/addr.c",
      "\t\tif (v > max) {", "\t\tif (v > 128) {",
      unit=["test_addr"],
      why="192.0.2.0/33 is accepted"),

    # ---- sources.c: what record data is accepted ----
    M("sources-private", "data/sources_check.c",
      "if (!s->cfg->allow_public && !addr_is_private(type == TYPE_A ?",
      "if (0 && !addr_is_private(type == TYPE_A ?",
      unit=["test_sources"],
      why="a public address in the portal CSV is served as a private endpoint"),
    M("sources-ttl-merge", "data/sources_check.c",
      "\t\t\tif (ttl < o->ttl)\n\t\t\t\to->ttl = ttl;\n", "",
      unit=["test_sources"],
      why="a repeated record keeps its first TTL, not the lowest"),
    M("sources-ttl-cross", "data/sources_check.c",
      "\t\tif (r->ttl < minttl)\n\t\t\tminttl = r->ttl;\n", "",
      unit=["test_sources"],
      why="the records of one RRset across sources keep different TTLs"),
    M("sources-ttl-range", "data/sources_check.c",
      "if (v > 2147483647ULL)", "if (v > 4294967295ULL)",
      unit=["test_sources"],
      why="a TTL above 2^31-1 is accepted (RFC 2181 8)"),
    M("sources-conflict", "data/sources_check.c",
      "if (v - 1 < s->entry_first && !rs->zones[zone].multi) {",
      "if (0 && v - 1 < s->entry_first && !rs->zones[zone].multi) {",
      unit=["test_sources"],
      why="one name with two addresses in one source is not reported"),

    # ---- tsig.c: who may transfer zones ----
    M("tsig-mac", "engine/tsig.c",
      "\tif (n != full || CRYPTO_memcmp(mac, t->mac, full) != 0)\n\t\treturn TSIG_BADSIG;\n\tmemcpy(c->mac, t->mac, full);",
      "\tif (n != full)\n\t\treturn TSIG_BADSIG;\n\tmemcpy(c->mac, t->mac, full);",
      unit=["test_xfr"], system=[("test_xfr.py", ["TSIG"])],
      why="a request signed with the wrong secret is served"),
    M("tsig-alg", "engine/tsig.c",
      "\t\t    wire_name_equal(algs[keys[i].alg].name, t->alg)) {",
      "\t\t    1) {",
      unit=["test_xfr"],
      why="a key is found whatever algorithm the request names"),
    M("tsig-time", "engine/tsig.c",
      "return (a > b ? a - b : b - a) > fudge;", "return (a > b ? a - b : 0) > fudge;",
      unit=["test_xfr"],
      why="a request signed in the future is accepted (replays)"),
    M("tsig-truncated", "engine/tsig.c",
      "\t\treturn t->mac_len == 0 ? TSIG_BADSIG : TSIG_BADTRUNC;",
      "\t\treturn TSIG_BADSIG;",
      unit=["test_xfr"],
      why="a truncated MAC is answered BADSIG, not BADTRUNC (RFC 8945 5.2.2.1)"),
    M("tsig-first-unsigned", "engine/tsig.c",
      "if (first || c->nunsigned >= MAX_UNSIGNED)",
      "if (c->nunsigned >= MAX_UNSIGNED)",
      unit=["test_xfr"],
      why="a transfer whose first message is unsigned is accepted"),
    M("tsig-response-mac", "engine/tsig.c",
      "\tif (n != full || CRYPTO_memcmp(mac, t.mac, full) != 0)\n\t\treturn TSIG_BADSIG;\n\tmemcpy(c->mac, mac, full);",
      "\tif (n != full)\n\t\treturn TSIG_BADSIG;\n\tmemcpy(c->mac, mac, full);",
      unit=["test_xfr"], system=[("test_xfr.py", ["wrong key"])],
      why="a transfer response signed with the wrong secret is accepted"),

    # ---- worker.c: the query path ----
    M("worker-allow-forward", "runtime/worker.c",
      "if (!acl_may_forward(cfg, (const struct sockaddr *)&client->ss)) {",
      "if (0) {",
      system=[("test_safety.py", ["allow_forward"])],
      why="allow_forward is not applied"),
    M("worker-xfr-acl", "runtime/worker.c",
      "if (av == ACL_ALLOW && xfr_may_concern(q, v) &&",
      "if (xfr_may_concern(q, v) &&",
      system=[("test_xfr.py", ["allow comes first"])],
      why="a client outside allow gets zone transfers and NOTIFY handled"),
    M("worker-class", "runtime/worker.c",
      "if (rcode < 0 && (q->qclass != CLASS_IN || q->qtype == TYPE_AXFR ||",
      "if (rcode < 0 && (q->qtype == TYPE_AXFR ||",
      system=[("test_core.py", ["other classes"])],
      why="a CHAOS or HS query is answered from IN data"),
    M("worker-udp-limit", "runtime/worker.c",
      "limit = conn != NULL ? WIRE_MAX_MSG : answer_udp_limit(q);",
      "limit = WIRE_MAX_MSG;",
      system=[("test_core.py", ["larger than the client"]),
              ("test_split.py", ["512"])],
      why="UDP answers are never truncated to the client's size"),
    M("worker-slip-tc", "runtime/worker.c",
      "\t\tslip[2] |= 0x02;\n", "",
      system=[("test_safety.py", ["rate limiting"])],
      why="a slipped (rate-limited) answer has no TC bit: the client does "
      "not retry over TCP"),
    M("worker-acl-drop", "runtime/worker.c",
      "\tcase ACL_DROP:\n\t\tw->m.dropped_acl++;\n\t\treturn;\n",
      "\tcase ACL_DROP:\n\t\tw->m.dropped_acl++;\n",
      system=[("test_safety.py", ["drop"])],
      why="refuse_action = drop answers REFUSED"),
    # ---- the Azure sync: what it takes from ARM and when it reloads ----
    M("sync-nextlink", "sync/azure_sync.c",
      "\t\tif (rc == 0 && nl != NULL)\n\t\t\tnext = xstrdup(nl);\n", "",
      unit=["test_azure_sync"], system=[("test_sync.py", ["nextLink"])],
      why="only the first page of a list is read: record sets go missing"),
    M("sync-nextlink-loop", "sync/azure_sync.c",
      "\t\t\tif (strcmp(seen[k], next) == 0) {",
      "\t\t\tif (strcmp(seen[k], next) == 0 && 0) {",
      system=[("test_sync.py", ["nextLink loop"])],
      why="a nextLink that links back is followed until the page bound"),
    M("sync-nextlink-host", "sync/azure_sync.c",
      "\t\tif (strncmp(next, a->az->management_url, ml) != 0 ||",
      "\t\tif (0 && strncmp(next, a->az->management_url, ml) != 0 ||",
      system=[("test_sync.py", ["nextLink on another host"])],
      why="a nextLink on another host gets the bearer token"),
    M("sync-429-retry", "sync/azure_sync.c",
      "\t\tif (r->status == 429 && ++tries429 < TRIES_429) {",
      "\t\tif (r->status == 429 && ++tries429 < 1) {",
      system=[("test_sync.py", ["429"])],
      why="a throttled request fails the sync instead of waiting"),
    M("sync-token-renew", "sync/azure_sync.c",
      "\tif (a->tok->value != NULL && now_ms() < a->tok->renew_ms)",
      "\tif (a->tok->value != NULL)",
      system=[("test_sync.py", ["renewed"])],
      why="a token is used until ARM refuses it"),
    M("sync-unchanged", "sync/azure_sync_run.c",
      "\t    json_equal(e->data, r->data))) {",
      "\t    json_equal(e->data, r->data) && 0)) {",
      system=[("test_sync.py", ["equal to state_dir"])],
      why="the first sync after a start reloads the data state_dir gave"),
    M("sync-unchanged-base", "sync/azure_sync_run.c",
      "\t\tcomparable = j->fetch != 0 && k->fetch == j->fetch &&",
      "\t\tcomparable = j->fetch != 0 &&",
      system=[("test_sync.py", ["old as it is"])],
      why="a fetch equal to rejected data counts as unchanged: success is "
      "reported while older data is served"),
    M("sync-rejected-restore", "sync/azure_sync_run.c",
      "\t\tazure_store_set(e, old, old_at);\n\t\tsync_drop(s, bad);",
      "\t\tjson_decref(bad);\n\t\tsync_drop(s, old);",
      system=[("test_sync.py", ["rejected sync the store"])],
      why="rejected data stays in the store: every later reload fails"),
    M("sync-rejected-age", "sync/azure_sync_run.c",
      "\t\tazure_store_set(e, old, old_at);",
      "\t\tazure_store_set(e, old, now);",
      system=[("test_sync.py", ["old as it is"])],
      why="a rejected sync makes the data served look fresh"),
    M("sync-state-write", "sync/azure_sync_run.c",
      "\tif (k->fetch != j->fetch || k->data == NULL)\n\t\treturn NULL;",
      "\tif (k->fetch != j->fetch || k->data == NULL || 1)\n\t\treturn NULL;",
      system=[("test_sync.py", ["time current"])],
      why="the state file is written once: a restart reports old data as "
      "older than it is"),
    M("sync-fallback", "data/azure_store.c",
      "\t\t\t\t\t    (zc == NULL || zc->missing < 0))",
      "\t\t\t\t\t    (zc == NULL))",
      system=[("test_sync.py", ["NxDomainRedirect"])],
      why="an explicit [zone] missing is overridden by the link"),
    M("sync-zone-known", "sync/azure_arm.c",
      "\t\tif (!known(zone, arg))\n",
      "\t\tif (0 && !known(zone, arg))\n",
      unit=["test_azure_sync"], system=[("test_sync.py", ["zone group outside"])],
      why="a zone group may put records in any zone, public ones too"),
    M("sync-label-max", "sync/azure_arm.c",
      "\t\t} else if (c <= ' ' || c >= 0x7f || ++label > 63)",
      "\t\t} else if (c <= ' ' || c >= 0x7f || ++label > 64)",
      unit=["test_azure_sync"],
      why="a 64-octet label from ARM is taken as a name"),
    M("sync-identity-proxy", "sync/azure_auth.c",
      "\th->proxy = \"\";\n", "",
      system=[("test_sync.py", ["proxies"])],
      why="the identity endpoint is asked through the https proxy"),
    M("sync-state-atomic", "data/azure_store.c",
      "\tif (rename(tmp, path) == -1) {",
      "\tif (rename(tmp, path) == -1 || unlink(path) == 0) {",
      system=[("test_sync.py", ["restart with Azure unreachable"])],
      why="the state file is not kept: a restart without Azure serves nothing"),
]


# ---------------------------------------------------------------- running

def log(msg):
    print(msg, flush=True)


def _stop(p):
    """Stops P's process group: SIGTERM first, so that a system test file
    stops the daemons and fake upstreams it started, then SIGKILL."""
    for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(p.pid, sig)
        except OSError:
            return
        try:
            p.wait(grace)
            return
        except subprocess.TimeoutExpired:
            pass


def sh(args, cwd, timeout=None, env=None):
    """Runs ARGS in a process group of its own; returns (exit status or
    'timeout', output tail)."""
    p = subprocess.Popen(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(p)
        out, _ = p.communicate()
        return "timeout", out.decode(errors="replace")[-3000:]
    except BaseException:
        _stop(p)
        raise
    return p.returncode, out.decode(errors="replace")[-3000:]


def tracked_files():
    r = subprocess.run(["git", "-C", TOP, "ls-files", "-co", "--exclude-standard", "-z"],
                       stdout=subprocess.PIPE, check=True)
    out = []
    for f in r.stdout.decode().split("\0"):
        # Build directories are not ignored everywhere: never copy them.
        if f and not f.startswith(("build", ".git")) and \
                os.path.isfile(os.path.join(TOP, f)):
            out.append(f)
    return out


def sync(work):
    """Copies every changed file of the tree into WORK/tree; returns how
    many were copied."""
    tree = os.path.join(work, "tree")
    n = 0
    for f in tracked_files():
        src, dst = os.path.join(TOP, f), os.path.join(tree, f)
        with open(src, "rb") as a:
            data = a.read()
        try:
            with open(dst, "rb") as b:
                if b.read() == data:
                    continue
        except OSError:
            os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(dst, "wb") as b:
            b.write(data)
        shutil.copymode(src, dst)
        n += 1
    return n


def check_table(tree, rows):
    """Every snippet occurs exactly once in its file; ids are unique."""
    bad = []
    seen = set()
    for m in rows:
        if m.id in seen:
            bad.append("%s: id used twice" % m.id)
        seen.add(m.id)
        try:
            with open(os.path.join(tree, m.file)) as f:
                text = f.read()
        except OSError as e:
            bad.append("%s: %s" % (m.id, e))
            continue
        k = text.count(m.old)
        if k != 1:
            bad.append("%s: snippet found %d times in %s (re-anchor it):\n    %r"
                       % (m.id, k, m.file, m.old))
    return bad


class Run:
    def __init__(self, work, jobs):
        self.work = work
        self.tree = os.path.join(work, "tree")
        self.build = os.path.join(work, "build")
        self.jobs = jobs
        self.env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="TAP",
                        PLDNS_BIN=os.path.join(self.build, "pldns"),
                        PLDNS_SRCDIR=self.tree, PLDNS_BUILDDIR=self.build,
                        PYTHONDONTWRITEBYTECODE="1")
        # A killed mutant fails system tests, which keep their temp dirs:
        # they go in the work directory, emptied before each run.
        self.tmp = os.path.join(work, "tmp")
        self.env["TMPDIR"] = self.tmp
        self.env.pop("MAKEFLAGS", None)
        self.env.pop("PLDNS_TIME_SCALE", None)

    def configure(self):
        if os.path.exists(os.path.join(self.build, "Makefile")):
            return
        log("configuring %s (once; later runs reuse it)" % self.build)
        st, out = sh(["autoreconf", "-fi"], self.tree)
        if st != 0:
            raise SystemExit("autoreconf failed:\n" + out)
        os.makedirs(self.build, exist_ok=True)
        st, out = sh([os.path.join(self.tree, "configure")], self.build)
        if st != 0:
            raise SystemExit("configure failed:\n" + out)

    def make(self, targets):
        return sh(["nice", "make", "-j%d" % self.jobs] + targets, self.build)

    def unit(self, name):
        st, out = sh([os.path.join(self.build, "tests", "unit", name)], self.build,
                     timeout=UNIT_TIMEOUT, env=self.env)
        return st == 0, out

    def system(self, fname, words):
        shutil.rmtree(self.tmp, ignore_errors=True)
        os.makedirs(self.tmp)
        st, out = sh([PY, os.path.join(self.tree, "tests", "system", fname)] + words,
                     os.path.join(self.tree, "tests", "system"),
                     timeout=SYSTEM_TIMEOUT, env=self.env)
        return st == 0, out


def _interrupted(sig, frame):
    raise KeyboardInterrupt()


def unit_names(tree):
    with open(os.path.join(tree, "Makefile.am")) as f:
        text = f.read()
    start = text.index("UNIT_TESTS =")
    block = text[start:text.index("\n\n", start)]
    return [w.split("/")[-1] for w in block.split() if w.startswith("tests/unit/")]


def system_names(tree):
    d = os.path.join(tree, "tests", "system")
    return sorted(f for f in os.listdir(d) if f.startswith("test_") and f.endswith(".py"))


def first_failure(out):
    for line in out.splitlines():
        if line.startswith("not ok"):
            return line[:120]
    return out.strip().splitlines()[-1][:120] if out.strip() else ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ids", nargs="*", help="run only rows whose id contains one of these")
    ap.add_argument("--list", action="store_true", help="print the table and exit")
    ap.add_argument("--workdir", default=os.path.join(
        os.environ.get("TMPDIR", "/tmp"), "pldns-mutate-%s" % os.environ.get("USER", os.getuid())))
    ap.add_argument("--jobs", "-j", type=int, default=2)
    ap.add_argument("--thorough", action="store_true",
                    help="survivors of their own system tests face every system test")
    ap.add_argument("--no-system", action="store_true", help="unit tests only")
    ap.add_argument("--run-equivalent", action="store_true",
                    help="run the rows marked equivalent too (they should survive)")
    ap.add_argument("--quick", action="store_true",
                    help="no fallback to every system test for rows that name none")
    a = ap.parse_args()
    # SIGTERM unwinds like ^C: the mutated file is put back, children stopped.
    signal.signal(signal.SIGTERM, _interrupted)

    rows = [m for m in MUTANTS if not a.ids or any(w in m.id for w in a.ids)]
    if a.list:
        for m in rows:
            tag = "equivalent" if m.equivalent else ("owner: " + m.owner if m.owner else "")
            log("%-28s %-11s %s%s" % (m.id, m.file[4:], m.why or m.equivalent,
                                      "  [%s]" % tag if tag else ""))
        log("%d mutants (%d marked equivalent)" % (len(rows), sum(1 for m in rows if m.equivalent)))
        return 0
    if not rows:
        log("no row matches %s" % " ".join(a.ids))
        return 2

    t_start = time.monotonic()
    run = Run(a.workdir, a.jobs)
    os.makedirs(run.tree, exist_ok=True)
    n = sync(a.workdir)
    log("work tree %s: %d file(s) copied from %s" % (run.tree, n, TOP))
    bad = check_table(run.tree, MUTANTS)
    if bad:
        log("the mutant table no longer fits the code:")
        for b in bad:
            log("  " + b)
        return 2
    run.configure()
    units = unit_names(run.tree)
    st, out = run.make(["pldns"] + ["tests/unit/" + u for u in units])
    if st != 0:
        log("the unchanged tree does not build:\n" + out)
        return 2
    for u in units:
        ok, out = run.unit(u)
        if not ok:
            log("unit test %s fails on the unchanged tree: fix that first\n%s" % (u, out))
            return 2
    log("unchanged tree: built, %d unit test programs pass (%.0f s)" %
        (len(units), time.monotonic() - t_start))

    todo = [m for m in rows if a.run_equivalent or not m.equivalent]
    # Grouped by file, so that putting one back and patching the next
    # recompile one file.
    todo.sort(key=lambda m: m.file)
    results = {}        # id -> (verdict, by, seconds)
    pending = []        # survivors of the unit tests, for the system phase

    def apply(m):
        path = os.path.join(run.tree, m.file)
        with open(path) as f:
            orig = f.read()
        with open(path, "w") as f:
            f.write(orig.replace(m.old, m.new, 1))
        return path, orig

    def restore(path, orig):
        with open(path, "w") as f:
            f.write(orig)

    def build(targets):
        st, out = run.make(targets)
        if st != 0:
            return "build failed: " + out.strip().splitlines()[-1][:200] if out.strip() else "build failed"
        return None

    # Phase 1: unit tests, the row's own first.
    for i, m in enumerate(todo, 1):
        t0 = time.monotonic()
        path, orig = apply(m)
        try:
            order = [u for u in m.unit if u in units] + \
                [u for u in units if u not in m.unit]
            verdict, by = "survived", ""
            for u in order:
                err = build(["tests/unit/" + u])
                if err:
                    verdict, by = "error", err
                    break
                ok, out = run.unit(u)
                if not ok and u not in m.unit:
                    # A test the row does not name may have failed for a
                    # reason of its own (a port taken, a timer under
                    # load): a kill must happen twice.
                    again, _ = run.unit(u)
                    if again:
                        log("    %s failed once, then passed: not counted" % u)
                        ok = True
                if not ok:
                    verdict, by = "killed", "%s (%s)" % (u, first_failure(out))
                    break
        finally:
            restore(path, orig)
        dt = time.monotonic() - t0
        if verdict == "survived" and not a.no_system:
            pending.append(m)
            log("[%d/%d] %-28s unit tests pass: system tests later (%.0f s)"
                % (i, len(todo), m.id, dt))
            results[m.id] = ("survived", "", dt)
            continue
        results[m.id] = (verdict, by, dt)
        log("[%d/%d] %-28s %-8s %s (%.0f s)" % (i, len(todo), m.id, verdict, by, dt))

    # Phase 2: system tests for the survivors, after a run of the same
    # selections on the unchanged tree.
    if pending:
        err = build(["pldns"])
        if err:
            log("the unchanged tree does not build pldns: " + err)
            return 2
        sysfiles = system_names(run.tree)

        def selections(m):
            sel = list(m.system)
            if (not sel and not a.quick) or a.thorough:
                sel += [(f, []) for f in sysfiles if (f, []) not in sel]
            return sel

        base = []
        for m in pending:
            for s in selections(m):
                if s not in base:
                    base.append(s)
        broken = set()
        for f, words in base:
            ok, out = run.system(f, words)
            if not ok:
                log("system tests %s %s fail on the unchanged tree; not used:\n  %s"
                    % (f, " ".join(words), first_failure(out)))
                broken.add((f, tuple(words)))
        log("unchanged tree: %d system test selection(s) run" % len(base))
        for i, m in enumerate(pending, 1):
            t0 = time.monotonic()
            path, orig = apply(m)
            try:
                verdict, by = "survived", ""
                err = build(["pldns"])
                if err:
                    verdict, by = "error", err
                else:
                    for f, words in selections(m):
                        if (f, tuple(words)) in broken:
                            continue
                        ok, out = run.system(f, words)
                        if not ok:
                            verdict = "killed"
                            by = "%s %s (%s)" % (f, " ".join(repr(w) for w in words),
                                                 first_failure(out))
                            break
            finally:
                restore(path, orig)
            dt = time.monotonic() - t0 + results[m.id][2]
            results[m.id] = (verdict, by, dt)
            log("[system %d/%d] %-28s %-8s %s (%.0f s)" % (i, len(pending), m.id, verdict, by, dt))
        build(["pldns"])

    # Summary.
    killed = [m for m in todo if results[m.id][0] == "killed" and not m.equivalent]
    survived = [m for m in todo if results[m.id][0] == "survived" and not m.equivalent]
    errors = [m for m in todo if results[m.id][0] == "error"]
    equiv = [m for m in rows if m.equivalent]
    log("")
    log("%-28s %-9s %s" % ("mutant", "verdict", "by"))
    for m in sorted(todo, key=lambda m: MUTANTS.index(m)):
        v, by, dt = results[m.id]
        if m.equivalent:
            v += " (equivalent)"
        log("%-28s %-9s %s" % (m.id, v, by))
    for m in survived:
        log("SURVIVED %s (%s): %s%s" % (m.id, m.file, m.why,
                                        "  [%s]" % m.owner if m.owner else ""))
    for m in errors:
        log("ERROR %s: %s" % (m.id, results[m.id][1]))
    total = len(killed) + len(survived)
    log("")
    log("mutation score: %d/%d killed (%.0f%%); %d survived, %d equivalent "
        "(not run), %d did not build; %.1f min" % (
            len(killed), total, 100.0 * len(killed) / total if total else 0,
            len(survived), len([m for m in equiv if m not in todo]), len(errors),
            (time.monotonic() - t_start) / 60))
    if errors:
        return 2
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
