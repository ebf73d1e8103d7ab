// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the server config loader (and validation) on arbitrary
 * file contents. Every input must be accepted or refused with a message:
 * a crash, a leak or undefined behaviour is a failure (ASan, UBSan).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "server/server_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char path[64];

	if (fd < 0)
		fd = memfd_create("mplb-fuzz-config", 0);
	if (fd < 0 || ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct srv_cfg *cfg = calloc(1, sizeof(*cfg));
	if (cfg && srv_cfg_load(path, cfg) == 0)
		srv_cfg_validate(cfg);
	free(cfg);
	return 0;
}
