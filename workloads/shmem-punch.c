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
#include <sys/mman.h>

int main(int argc, char **argv)
{
	unsigned long size = 1024UL << 20, off, tables, j;
	struct pt_fin fin = { 0 };
	long shm_pop, shm_now;
	char *res, *p;
	int fd, i;

	for (i = 1; i < argc; i++) {
		if (pt_fin_arg(&fin, argc, argv, &i))
			continue;
		if (!strcmp(argv[i], "--size-mb") && i + 1 < argc)
			size = strtoul(argv[++i], NULL, 0) << 20;
		else
			goto usage;
	}
	if (pt_fin_check(&fin, argv[0]))
		return 2;
	if (!size || size % SZ_2M)
		goto usage;
	tables = size / SZ_2M;

	pt_start();
	pt_record("baseline", 1, ",\"tables\":%lu", tables);
	fin.base_kb = pt_vmpte_kb();

	fd = memfd_create("pt-shmem-punch", MFD_CLOEXEC);
	if (fd < 0)
		pt_fail("memfd_create: %s", strerror(errno));
	if (ftruncate(fd, size))
		pt_fail("ftruncate: %s", strerror(errno));
	res = mmap(NULL, size + SZ_2M, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		pt_fail("mmap reserve: %s", strerror(errno));
	p = (char *)(((unsigned long)res + SZ_2M - 1) & ~(SZ_2M - 1));
	if (mmap(p, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) != p)
		pt_fail("mmap memfd: %s", strerror(errno));
	if (p > res)
		munmap(res, p - res);
	munmap(p + size, res + SZ_2M - p);
	madvise(p, size, MADV_NOHUGEPAGE);

	for (off = 0; off < size; off += SZ_2M)
		memset(p + off, (int)((off / SZ_2M) % 255 + 1), 4096);
	shm_pop = pt_read_kb("/proc/self/status", "RssShmem");
	pt_record("populated", 0, ",\"rss_shmem_kb\":%ld", shm_pop);
	fin.pop_kb = pt_vmpte_kb();

	for (off = 0; off < size; off += SZ_2M)
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      off, 4096))
			pt_fail("punch hole at %lu: %s", off, strerror(errno));
	fin.t_emptied = pt_now_ms();
	shm_now = pt_read_kb("/proc/self/status", "RssShmem");
	if (shm_pop >= 0 && shm_now > shm_pop - (long)(tables * 4) + (long)tables / 25)
		pt_fail("RssShmem %ld kB after punching, %ld kB before", shm_now, shm_pop);
	pt_record("emptied", 1, ",\"rss_shmem_kb\":%ld", shm_now);

	pt_finish(&fin, p, size, tables, "");

	for (off = 0; off < size; off += SZ_2M)
		for (j = 0; j < 4096; j += 8)
			if (*(unsigned long *)(p + off + j))
				pt_fail("punched page at %lu not zero", off);
	pt_record("verified", 0, "");
	return 0;

usage:
	fprintf(stderr, "usage: %s [--size-mb N] " PT_FIN_USAGE "\n", argv[0]);
	return 2;
}
