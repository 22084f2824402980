// SPDX-License-Identifier: GPL-2.0
/*
 * shmem-punch: PTE tables emptied by punching holes in shared memory.
 *
 *   shmem-punch [--size-mb N] [--reclaim | --wait-ms N]
 *
 * memfd_create + ftruncate (default 1024 MiB), mmap MAP_SHARED on a 2 MiB
 * boundary, write one page per 2 MiB (one PTE table each), then
 * fallocate(PUNCH_HOLE | KEEP_SIZE) one 4 KiB hole per written page, which
 * unmaps it and leaves its table empty.  After the optional reclaim step
 * every punched page must read zero.
 */
#include "ptfin.h"
#include <fcntl.h>

int main(int argc, char **argv)
{
	unsigned long size = 1024UL << 20, off, tables, j;
	struct pt_fin fin = { 0 };
	long shm_pop, shm_now;
	char *p;
	int fd;

	if (pt_args(&fin, argc, argv, &size, NULL, "[--size-mb N] "))
		return 2;
	tables = size / SZ_2M;

	pt_begin(&fin, tables);

	p = pt_map_memfd("pt-shmem-punch", size, &fd);

	for (off = 0; off < size; off += SZ_2M)
		memset(p + off, (int)((off / SZ_2M) % 255 + 1), 4096);
	shm_pop = pt_read_kb("/proc/self/status", "RssShmem");
	pt_populated(&fin, "populated", ",\"rss_shmem_kb\":%ld", shm_pop);

	for (off = 0; off < size; off += SZ_2M)
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      off, 4096))
			pt_fail("punch hole at %lu: %s", off, strerror(errno));
	shm_now = pt_read_kb("/proc/self/status", "RssShmem");
	if (shm_pop >= 0 && shm_now > shm_pop - (long)(tables * 4) + (long)tables / 25)
		pt_fail("RssShmem %ld kB after punching, %ld kB before", shm_now, shm_pop);
	pt_emptied(&fin, "emptied", ",\"rss_shmem_kb\":%ld", shm_now);

	pt_finish(&fin, p, size, tables, "");

	for (off = 0; off < size; off += SZ_2M)
		for (j = 0; j < 4096; j += 8)
			if (*(unsigned long *)(p + off + j))
				pt_fail("punched page at %lu not zero", off);
	pt_record("verified", 0, "");
	return 0;
}
