#!/usr/bin/python3
"""Applies the zone transfer integration to a COPY of src/ (never to the
tree): the calls worker.c, worker.h, server.c and snapshot.[ch] need, exactly
as the report to the lead describes them.  tests/xfr/build.sh --daemon runs
it on its mirror and builds the real daemon from the result, so that
tests/system/test_xfr*.py can run against it before the lead integrates.

    integrate.py DIR      (DIR holds copies of src/*.c and src/*.h)

Each edit anchors on text in the current files and fails loudly when the
anchor moved; an edit already present is skipped.
"""

import sys

d = sys.argv[1]


def edit(name, pairs):
    path = "%s/%s" % (d, name)
    s = open(path).read()
    for anchor, new, marker in pairs:
        if marker in s:
            continue
        if s.count(anchor) != 1:
            sys.exit("%s: anchor not found once: %r" % (name, anchor[:60]))
        s = s.replace(anchor, new)
    open(path, "w").write(s)


# ---- snapshot: node iteration for AXFR and the journal's differences ----
edit("snapshot.h", [(
    "/* The RRset of TYPE at N, or NULL. */",
    """/* The nodes of Z in no particular order, for zone transfers:
 * I < szone_nnodes(Z). */
size_t szone_nnodes(const struct szone *z);
const struct node *szone_node_at(const struct szone *z, size_t i);

/* The RRset of TYPE at N, or NULL. */""", "szone_node_at")])
edit("snapshot.c", [(
    "const struct rrset *\nnode_rrset(",
    """size_t
szone_nnodes(const struct szone *z)
{
	return z->nnodes;
}

const struct node *
szone_node_at(const struct szone *z, size_t i)
{
	return i < z->nnodes ? &z->nodes[i] : NULL;
}

const struct rrset *
node_rrset(""", "szone_node_at")])

# ---- worker.h ----
edit("worker.h", [(
    "/* Starts the worker's thread.  0 or -1. */",
    """struct xfr_journal;
struct xfr_secondary;

/* Before worker_start(): the IXFR journal and the secondary zones that
 * transfers and NOTIFY go to (either may be NULL; not owned). */
void worker_set_xfr(struct worker *w, struct xfr_journal *j, struct xfr_secondary *sec);

/* Starts the worker's thread.  0 or -1. */""", "worker_set_xfr")])

# ---- worker.c ----
edit("worker.c", [
    ('#include "worker.h"\n', '#include "worker.h"\n#include "xfr.h"\n', '#include "xfr.h"'),
    ("\tstruct answer_scratch *scratch;\n",
     "\tstruct answer_scratch *scratch;\n"
     "\tstruct xfr_journal *journal;\t/* zone transfers (not owned) */\n"
     "\tstruct xfr_secondary *sec;\n", "struct xfr_journal *journal;"),
    ("/* ---- the query path ---- */\n",
     """/* ---- the query path ---- */

/* Where xfr_serve() sends each message of a transfer. */
struct xfr_dst {
	struct worker *w;
	int udp_fd;
	const struct pl_addr *client;
	struct tcp_conn *conn;
};

static void
xfr_emit_cb(void *arg, const uint8_t *msg, size_t len)
{
	struct xfr_dst *d = arg;

	if (d->conn != NULL)
		conn_send(d->conn, msg, len);
	else
		udp_send(d->w, d->udp_fd, d->client, msg, len);
}

/*
 * Zone transfers, NOTIFY and TSIG-signed queries (xfr.h), which reply
 * themselves because their replies carry TSIG.  True when handled.
 */
static bool
handle_xfr(struct worker *w, const uint8_t *pkt, size_t len, int udp_fd,
    const struct pl_addr *client, struct tcp_conn *conn)
{
	const struct sockaddr *sa = (const struct sockaddr *)&client->ss;
	struct xfr_dst dst = { w, udp_fd, client, conn };
	size_t olen = 0;

	switch (xfr_classify(pkt, len)) {
	case XFR_NONE:
		return false;
	case XFR_TRANSFER:
		(void)xfr_serve(w->snap, w->journal, pkt, len, sa, conn != NULL,
		    xfr_emit_cb, &dst);
		return true;
	case XFR_NOTIFY:
		(void)xfr_secondary_notify(w->sec, pkt, len, sa, w->out, sizeof(w->out),
		    &olen);
		break;
	case XFR_SIGNED:
		(void)xfr_answer_signed(w->snap, pkt, len, sa, conn != NULL, w->out,
		    sizeof(w->out), &olen);
		break;
	}
	if (olen > 0)
		reply(w, udp_fd, client, conn, w->out, olen, true);
	return true;
}
""", "handle_xfr("),
    ("""	memset(&info, 0, sizeof(info));
	v = wire_query_parse(pkt, len, &q);""",
     """	memset(&info, 0, sizeof(info));
	/* Before wire_query_parse(), which takes IXFR's authority SOA for a
	 * FORMERR and NOTIFY's opcode for a NOTIMP; after the ACL, which
	 * answers everyone else as for any query. */
	av = acl_check(cfg, (const struct sockaddr *)&client->ss);
	if (av == ACL_ALLOW && handle_xfr(w, pkt, len, udp_fd, client, conn))
		return;
	v = wire_query_parse(pkt, len, &q);""", "handle_xfr(w, pkt"),
    ("""	switch (acl_check(cfg, (const struct sockaddr *)&client->ss)) {
	case ACL_DROP:
		w->m.dropped_acl++;""",
     """	switch (av) {
	case ACL_DROP:
		w->m.dropped_acl++;""", "switch (av) {"),
    ("""	enum wire_verdict v;
""",
     """	enum wire_verdict v;
	enum acl_verdict av;
""", "enum acl_verdict av;"),
    ("""	limit = conn != NULL ? WIRE_MAX_MSG : answer_udp_limit(&q);
	if (answer_local(""",
     """	if (xfr_secondary_unavailable(w->snap, q.lname)) {
		/* A secondary zone not transferred yet, or expired. */
		answer_error(&q, RCODE_SERVFAIL, 22, w->out, sizeof(w->out), &info);
		info.path = PATH_ERROR;
		reply(w, udp_fd, client, conn, w->out, info.len, true);
		account(w, client, &q, &info, conn != NULL, start);
		return;
	}
	limit = conn != NULL ? WIRE_MAX_MSG : answer_udp_limit(&q);
	if (answer_local(""", "xfr_secondary_unavailable"),
    ("int\nworker_start(struct worker *w)\n",
     """void
worker_set_xfr(struct worker *w, struct xfr_journal *j, struct xfr_secondary *sec)
{
	w->journal = j;
	w->sec = sec;
}

int
worker_start(struct worker *w)
""", "\nworker_set_xfr(struct worker *w"),
])

# ---- server.c ----
edit("server.c", [
    ('#include "worker.h"\n', '#include "worker.h"\n#include "xfr.h"\n', '#include "xfr.h"'),
    ("\tstruct watch *watch;\n",
     "\tstruct watch *watch;\n"
     "\tstruct xfr_journal *journal;\t/* IXFR history, read by workers */\n"
     "\tstruct xfr_notifier *notifier;\n"
     "\tstruct xfr_secondary *sec;\n", "struct xfr_journal *journal;"),
    ("""	diag_clear(&d);
	if (listen_changed(snapshot_config(srv->snap), snapshot_config(s)))
		log_warnx("listen addresses changed: they take effect at the next restart");
	for (int i = 0; i < srv->nworkers; i++)
		worker_post_snapshot(srv->workers[i], s);
	snapshot_unref(srv->snap);
	srv->snap = s;""",
     """	diag_clear(&d);
	if (listen_changed(snapshot_config(srv->snap), snapshot_config(s)))
		log_warnx("listen addresses changed: they take effect at the next restart");
	/* The journal first: a worker still on the old data can serve IXFR
	 * up to its serial from it, one on the new data up to the new. */
	xfr_journal_update(srv->journal, srv->snap, s);
	for (int i = 0; i < srv->nworkers; i++)
		worker_post_snapshot(srv->workers[i], s);
	xfr_notify_changed(srv->notifier, srv->snap, s);
	xfr_secondary_reconfigure(srv->sec, snapshot_config(s));
	snapshot_unref(srv->snap);
	srv->snap = s;""", "xfr_journal_update(srv->journal"),
    ("static void\nwatch_fired_cb(void *arg)\n",
     """/* A secondary zone was transferred and written: serve it. */
static void
secondary_changed_cb(void *arg)
{
	server_reload(arg, NULL);
}

static void
watch_fired_cb(void *arg)
""", "secondary_changed_cb"),
    ("""	if (d->nerrors > 0) {
		server_free(srv);
		return NULL;
	}
	struct control_ops ops = {""",
     """	if (d->nerrors > 0) {
		server_free(srv);
		return NULL;
	}
	srv->journal = xfr_journal_new(XFR_JOURNAL_CHANGES);
	srv->notifier = xfr_notifier_new(srv->base);
	srv->sec = xfr_secondary_new(srv->base, cfg, secondary_changed_cb, srv);
	for (int i = 0; i < srv->nworkers; i++)
		worker_set_xfr(srv->workers[i], srv->journal, srv->sec);
	xfr_notify_changed(srv->notifier, NULL, snap);
	struct control_ops ops = {""", "xfr_journal_new("),
    ("#define MAX_WORKERS\t64\n",
     "#define MAX_WORKERS\t64\n"
     "#define XFR_JOURNAL_CHANGES\t100000\t/* IXFR history per zone, in records */\n",
     "XFR_JOURNAL_CHANGES\t"),
    ("""	if (setgroups(1, &pw->pw_gid) < 0""",
     """	/* The secondary zones are written after the switch. */
	xfr_secondary_chown(srv->sec, pw->pw_uid, pw->pw_gid);
	if (setgroups(1, &pw->pw_gid) < 0""", "xfr_secondary_chown"),
    ("""	for (int i = 0; i < srv->nworkers; i++)
		worker_join_free(srv->workers[i]);
""",
     """	for (int i = 0; i < srv->nworkers; i++)
		worker_join_free(srv->workers[i]);
	/* After the workers: they read the journal and hand NOTIFY over. */
	xfr_secondary_free(srv->sec);
	xfr_notifier_free(srv->notifier);
	xfr_journal_free(srv->journal);
""", "xfr_secondary_free(srv->sec)"),
])
print("integrated in %s" % d)
