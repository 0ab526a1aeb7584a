/*
 * source_hosts: hosts files ("IP name [alias...]", '#' comments), as the
 * Azure Migrate docs tell admins to keep on the appliance.
 *
 * Only names that fall in a known or configured privatelink zone (directly
 * or by their public name, such as acct.blob.core.windows.net) are taken;
 * the rest of a hosts file (localhost, the machine's own names) is skipped
 * without a word, and so are lines that carry no such name.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/sources_int.h"
#include "util/util.h"

void
source_hosts_parse(struct source *s)
{
	unsigned long line = 0;
	char *buf, loc[4096];
	size_t len;

	while ((buf = source_read(s, &len)) != NULL) {
		char *p = buf, *end = buf + len;

		while (p < end) {
			char *eol = memchr(p, '\n', (size_t)(end - p));
			char *tok[64], *save = NULL, *t, *hash, *copy = p;
			int ntok = 0;

			line++;
			/* The block is ours to cut into lines. */
			if (eol != NULL)
				*eol = '\0';
			p = eol != NULL ? eol + 1 : end;
			if ((hash = strchr(copy, '#')) != NULL)
				*hash = '\0';
			for (t = strtok_r(copy, " \t\r\f\v", &save); t != NULL;
			    t = strtok_r(NULL, " \t\r\f\v", &save)) {
				if (ntok == (int)nitems(tok)) {
					snprintf(loc, sizeof(loc), "%s:%lu",
					    source_path(s), line);
					source_error(s, loc, "more than %zu names on "
					    "one line", nitems(tok) - 1);
					break;
				}
				tok[ntok++] = t;
			}
			if (ntok == 0)
				continue;
			if (ntok == 1) {
				snprintf(loc, sizeof(loc), "%s:%lu", source_path(s), line);
				source_error(s, loc, "\"%s\" alone: a hosts line is an "
				    "address followed by names", tok[0]);
				continue;
			}
			for (int i = 1; i < ntok; i++) {
				const char *addr[1] = { tok[0] };
				struct source_entry e;

				memset(&e, 0, sizeof(e));
				e.name = tok[i];
				e.addrs = addr;
				e.naddrs = 1;
				e.ttl = -1;
				e.line = line;
				e.only_placeable = true;
				source_add(s, &e);
			}
		}
	}
}
