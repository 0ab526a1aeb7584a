/* placeholder until the control endpoint lands */
#include <stdlib.h>
#include "control.h"
struct control *control_new(struct event_base *base, const struct config *cfg,
    const struct control_ops *ops, struct diag *d) { return NULL; }
void control_free(struct control *c) { }
