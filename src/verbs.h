/*
 * verbs: the entry points of pldns's verbs other than serve and
 * check-config.  Each takes the arguments after the verb's name (argv[0] is
 * the verb) and returns the exit status.
 */
#ifndef PLDNS_VERBS_H
#define PLDNS_VERBS_H

int ctl_main(int argc, char **argv);		/* ctl.c */
int forwarders_main(int argc, char **argv);	/* forwarders.c */
int doctor_main(int argc, char **argv);		/* doctor.c */

#endif
