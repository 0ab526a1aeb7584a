/*
 * fuzz_hosts: the hosts importer, through source_load("hosts:FILE") as a [records]
 * source would be loaded; the checks are those of fuzz_source().
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_source("hosts", "hosts", data, size);
	return 0;
}
