/*
 * acl: client access control.  See acl.h.
 *
 * cidr_match() already judges a v4-mapped IPv6 client (::ffff:a.b.c.d, what
 * a dual-stack socket reports for an IPv4 peer) as its IPv4 address, so an
 * IPv4 prefix in allow covers it whichever socket the query arrived on.
 */
#include <stddef.h>

#include "engine/acl.h"
#include "util/addr.h"

static bool
acl_match(const struct pl_cidr *list, size_t n, const struct sockaddr *sa)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_match(&list[i], sa))
			return true;
	return false;
}

enum acl_verdict
acl_check(const struct config *cfg, const struct sockaddr *sa)
{
	/* An address of any other family (a Unix socket) matches no prefix:
	 * it is refused like any stranger. */
	if (acl_match(cfg->allow, cfg->nallow, sa))
		return ACL_ALLOW;
	return cfg->refuse_action == REFUSE_DROP ? ACL_DROP : ACL_REFUSE;
}

bool
acl_may_forward(const struct config *cfg, const struct sockaddr *sa)
{
	/* allow_forward narrows allow; it never admits a client that allow
	 * does not, so a stray prefix there cannot open the resolver. */
	if (acl_check(cfg, sa) != ACL_ALLOW)
		return false;
	if (cfg->nallow_forward == 0)
		return true;
	return acl_match(cfg->allow_forward, cfg->nallow_forward, sa);
}
