/* placeholder until the verb lands */
#include <stdio.h>
#include "verbs.h"
int doctor_main(int argc, char **argv) { (void)argc; (void)argv; fputs("pldns: doctor: not built yet\n", stderr); return 70; }
