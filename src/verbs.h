/*
 * verbs: the entry points of pldns's verbs other than serve and
 * check-config.  Each takes the arguments after the verb's name (argv[0] is
 * the verb) and returns the exit status.
 */
#ifndef PLDNS_VERBS_H
#define PLDNS_VERBS_H

#include <stddef.h>

int ctl_main(int argc, char **argv);		/* ctl.c */
int forwarders_main(int argc, char **argv);	/* forwarders.c */
int doctor_main(int argc, char **argv);		/* doctor.c */

struct pl_addr;

/*
 * ctl.c, for doctor: GET TARGET from the control endpoint at A (a wildcard
 * address is reached on loopback).  0 with the HTTP *STATUS and *BODY
 * (NUL-terminated; caller frees), or -1 with ERR saying why.
 */
int ctl_http_get(const struct pl_addr *a, const char *target, int *status,
    char **body, char *err, size_t errlen);

#endif
