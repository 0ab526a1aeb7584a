/* placeholder until the verb lands */
#include <stdio.h>
#include "verbs.h"
int ctl_main(int argc, char **argv) { (void)argc; (void)argv; fputs("pldns: ctl: not built yet\n", stderr); return 70; }
