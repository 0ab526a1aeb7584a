/*
 * startup: what "pldns serve" needs from the system before it starts,
 * besides its sockets: the control token, the user it runs as, the state
 * directory of secondary zones, the CA file for DNS over TLS.
 *
 * serve and check-config both run these checks, so that check-config
 * refuses exactly what serve refuses.  Nothing is bound or created here: a
 * port in use is a fact of the moment, not of the configuration.  A reload
 * does not run them (it changes none of these: the token and the user are
 * taken once, and after giving up root some files are rightly unreadable).
 */
#ifndef PLDNS_STARTUP_H
#define PLDNS_STARTUP_H

#include "data/config.h"
#include "util/diag.h"

/*
 * Adds every problem to D as an error "file:line: message", at the line of
 * the key concerned.  Returns 0 when there is none, else -1.
 */
int startup_check(const struct config *cfg, struct diag *d);

#endif
