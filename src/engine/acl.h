/*
 * acl: who may ask pldns what.  [server] allow (default: loopback and the
 * private ranges) and allow_forward (clients that may use forwarding;
 * default: every allowed client).  Others get REFUSED with Extended DNS
 * Error 18 (Prohibited, RFC 8914) or are dropped (refuse_action).
 * Lookups are a linear walk over a handful of prefixes: no allocation.
 */
#ifndef PLDNS_ACL_H
#define PLDNS_ACL_H

#include <stdbool.h>
#include <sys/socket.h>

#include "data/config.h"

enum acl_verdict { ACL_ALLOW, ACL_REFUSE, ACL_DROP };

/* May the client SA ask at all? */
enum acl_verdict acl_check(const struct config *cfg, const struct sockaddr *sa);

/* May the client SA have its query forwarded upstream? */
bool acl_may_forward(const struct config *cfg, const struct sockaddr *sa);

#endif
