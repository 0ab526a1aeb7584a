/* startup: serve's needs from the system, checked before it starts. */
#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "runtime/control.h"
#include "util/log.h"
#include "runtime/startup.h"
#include "util/util.h"

/*
 * "file:line" of the global key SECTION/NAME, else FALLBACK (a section's
 * "file:line"), else the file alone.  Caller frees; NULL for a config
 * without a file.
 */
static char *
key_where(const struct config *cfg, const char *section, const char *name,
    const char *fallback)
{
	unsigned long line = config_line(cfg, section, name);
	char *s;

	if (line > 0)
		xasprintf(&s, "%s:%lu", cfg->path, line);
	else if (fallback != NULL)
		s = xstrdup(fallback);
	else if (cfg->path != NULL)
		s = xstrdup(cfg->path);
	else
		s = NULL;
	return s;
}

/* Adds "WHERE: NAME VALUE: WHY", or "NAME VALUE: WHY" without WHERE. */
static void
check_error(struct diag *d, const char *where, const char *name,
    const char *value, const char *why)
{
	diag_addloc(d, DIAG_ERROR, where, "%s %s: %s", name, value, why);
}

/* serve reads the token before it gives up root, and so does this. */
static void
check_token(const struct config *cfg, struct diag *d)
{
	char *where, *loc, *tok;

	/* Without an endpoint serve never reads the file. */
	if (cfg->token_file == NULL || cfg->control_listen == NULL ||
	    cfg->control_listen[0] == '\0')
		return;
	where = key_where(cfg, "control", "token_file", NULL);
	if (where != NULL)
		xasprintf(&loc, "%s: token_file %s", where, cfg->token_file);
	else
		xasprintf(&loc, "token_file %s", cfg->token_file);
	if ((tok = control_read_token(cfg->token_file, loc, d)) != NULL) {
		explicit_bzero(tok, strlen(tok));
		free(tok);
	}
	free(loc);
	free(where);
}

/*
 * serve switches to the user as root; run as anybody else it stays who it
 * is, but the configuration still names a user that must exist wherever it
 * is deployed, and a typo should not wait for the first start as root.
 */
static void
check_user(const struct config *cfg, struct diag *d)
{
	char *where;

	if (cfg->user == NULL)
		return;
	errno = 0;
	if (getpwnam(cfg->user) != NULL)
		return;
	where = key_where(cfg, "server", "user", NULL);
	if (errno != 0 && errno != ENOENT && errno != ESRCH)
		diag_addloc(d, DIAG_ERROR, where, "user \"%s\": %s", cfg->user,
		    strerror(errno));
	else
		diag_addloc(d, DIAG_ERROR, where, "user \"%s\" does not exist",
		    cfg->user);
	free(where);
}

/*
 * The reason DIR cannot serve as the state directory, or NULL: it must be
 * a directory we may write in, or a path that mkdir -p can create.  As root
 * (serve creates it before giving up root) access() lets only a read-only
 * file system stand in the way of writing.
 */
static const char *
state_dir_problem(const char *dir, char *buf, size_t len)
{
	char *p = xstrdup(dir), *slash;
	struct stat st;
	const char *why = NULL;
	bool self = true;

	for (;;) {
		if (stat(p, &st) == 0) {
			if (!S_ISDIR(st.st_mode))
				why = self ? "not a directory" :
				    "cannot create it: Not a directory";
			else if (access(p, W_OK | X_OK) == -1) {
				snprintf(buf, len, "%s%s", self ? "" : "cannot create it: ",
				    strerror(errno));
				why = buf;
			}
			break;
		}
		if (errno == ENOENT && (slash = strrchr(p, '/')) != NULL) {
			/* Missing: mkdir -p creates it if its parent can hold it. */
			slash[slash == p ? 1 : 0] = '\0';
			self = false;
			continue;
		}
		snprintf(buf, len, "%s%s", errno == ENOTDIR || !self ?
		    "cannot create it: " : "", strerror(errno));
		why = buf;
		break;
	}
	free(p);
	return why;
}

static void
check_state_dir(const struct config *cfg, struct diag *d)
{
	const struct zone_conf *first = NULL;
	const char *why;
	char buf[256], *where;

	/* Only secondary zones keep files there. */
	for (size_t i = 0; i < cfg->nzones && first == NULL; i++)
		if (cfg->zones[i].nprimaries > 0)
			first = &cfg->zones[i];
	if (first == NULL || cfg->state_dir == NULL)
		return;
	if ((why = state_dir_problem(cfg->state_dir, buf, sizeof(buf))) == NULL)
		return;
	/* The default directory is blamed on the zone that needs it. */
	where = key_where(cfg, "server", "state_dir", first->where);
	check_error(d, where, "state_dir", cfg->state_dir, why);
	free(where);
}

/* Loaded as the upstream pool loads it, so that what passes here works. */
static void
check_ca_file(const struct config *cfg, struct diag *d)
{
	SSL_CTX *ctx;
	FILE *f;
	char *where, why[256];

	if (cfg->tls_ca_file == NULL)
		return;
	where = key_where(cfg, "upstream", "tls_ca_file", NULL);
	if ((f = fopen(cfg->tls_ca_file, "re")) == NULL) {
		snprintf(why, sizeof(why), "cannot read: %s", strerror(errno));
		check_error(d, where, "tls_ca_file", cfg->tls_ca_file, why);
		free(where);
		return;
	}
	fclose(f);
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		fatalx("SSL_CTX_new failed");
	if (SSL_CTX_load_verify_locations(ctx, cfg->tls_ca_file, NULL) != 1)
		check_error(d, where, "tls_ca_file", cfg->tls_ca_file,
		    "no PEM certificate in it");
	ERR_clear_error();
	SSL_CTX_free(ctx);
	free(where);
}

int
startup_check(const struct config *cfg, struct diag *d)
{
	size_t before = d->nerrors;

	check_user(cfg, d);
	check_state_dir(cfg, d);
	check_ca_file(cfg, d);
	check_token(cfg, d);
	return d->nerrors > before ? -1 : 0;
}
