/*
 * fuzz_config: the input as an INI file -> config_load().  Checks: a config
 * comes back exactly when no error was reported, every message is located in
 * the file, and a loaded config keeps the promises of config.h (lists counted
 * and NULL terminated, enums in range, zone names lower-case without the
 * trailing dot and found by config_zone()).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char rc[] = "nameserver 192.0.2.53\nnameserver 2001:db8::53\n";
	const char *path = fuzz_path("resolv.conf");

	(void)argc;
	(void)argv;
	/* Default upstreams from a known file, not the host's. */
	fuzz_write(path, (const uint8_t *)rc, sizeof(rc) - 1);
	config_set_resolv_conf(path);
	return 0;
}

static void
check_name(const char *what, const char *name)
{
	size_t n = strlen(name);

	if (n > 1 && name[n - 1] == '.')
		fuzz_fail("%s \"%s\" ends with a dot", what, name);
	for (const char *c = name; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			fuzz_fail("%s \"%s\" not lower-case", what, name);
}

static void
check_config(const struct config *cfg)
{
	if (cfg->nallow == 0 || cfg->allow == NULL)
		fuzz_fail("empty allow list");
	for (size_t i = 0; i < cfg->nallow; i++)
		if ((cfg->allow[i].family != AF_INET || cfg->allow[i].prefix > 32) &&
		    (cfg->allow[i].family != AF_INET6 || cfg->allow[i].prefix > 128))
			fuzz_fail("allow[%zu]: family %d prefix %d", i,
			    cfg->allow[i].family, cfg->allow[i].prefix);
	if (cfg->refuse_action != REFUSE_REFUSE && cfg->refuse_action != REFUSE_DROP)
		fuzz_fail("refuse_action %d", cfg->refuse_action);
	if (cfg->rrl_slip > 10 || cfg->rrl_rate > 1000000)
		fuzz_fail("rrl_rate %u rrl_slip %u", cfg->rrl_rate, cfg->rrl_slip);
	if (cfg->missing != MISSING_NXDOMAIN && cfg->missing != MISSING_FALLBACK)
		fuzz_fail("missing %d", cfg->missing);
	if (cfg->log_level < 0 || cfg->log_level > 3)
		fuzz_fail("log level %d", cfg->log_level);
	if (cfg->upstream_specs == NULL || cfg->upstream_specs[cfg->nupstream_specs] != NULL)
		fuzz_fail("upstream_specs not NULL terminated at %zu", cfg->nupstream_specs);
	for (size_t i = 0; i < cfg->nupstream_specs; i++)
		if (cfg->upstream_specs[i] == NULL)
			fuzz_fail("upstream_specs[%zu] NULL", i);
	if (cfg->nsources > 0 && (cfg->sources == NULL || cfg->sources[cfg->nsources] != NULL))
		fuzz_fail("sources not NULL terminated at %zu", cfg->nsources);
	for (size_t i = 0; i < cfg->nlisten; i++)
		if (cfg->listen[i].ss.ss_family != AF_INET &&
		    cfg->listen[i].ss.ss_family != AF_INET6)
			fuzz_fail("listen[%zu]: family %d", i, cfg->listen[i].ss.ss_family);
	for (size_t i = 0; i < cfg->nforwards; i++) {
		check_name("forward", cfg->forwards[i].name);
		if (cfg->forwards[i].nservers == 0)
			fuzz_fail("forward %s without servers", cfg->forwards[i].name);
	}
	for (size_t i = 0; i < cfg->nzones; i++) {
		const struct zone_conf *z = &cfg->zones[i];

		check_name("zone", z->name);
		if (config_zone(cfg, z->name) == NULL)
			fuzz_fail("config_zone(\"%s\") not found", z->name);
		if (z->twins != NULL && z->twins[z->ntwins] != NULL)
			fuzz_fail("zone %s: twins not NULL terminated", z->name);
		for (size_t t = 0; t < z->ntwins; t++)
			check_name("twin", z->twins[t]);
		if (z->missing < -1 || z->missing > MISSING_FALLBACK ||
		    z->multi < -1 || z->multi > 1)
			fuzz_fail("zone %s: missing %d multi %d", z->name, z->missing,
			    z->multi);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_path("pldns.ini");
	struct config *cfg;
	struct diag d;

	fuzz_write(path, data, size);
	diag_init(&d);
	cfg = config_load(path, &d);
	fuzz_check_diag(&d, path);
	if ((cfg == NULL) != (d.nerrors > 0))
		fuzz_fail("config_load returned %s with %zu errors",
		    cfg ? "a config" : "NULL", d.nerrors);
	if (cfg != NULL) {
		check_config(cfg);
		config_free(cfg);
	}
	diag_clear(&d);
	return 0;
}
