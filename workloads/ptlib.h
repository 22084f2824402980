/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers for pt-harness workloads: reading page-table figures,
 * printing one machine-readable record per phase and mapping areas whose
 * every 2 MiB is one PTE table.
 *
 * Record format, one per line on stdout (the harness parses these):
 *   PTREC {"phase":"populated","t_ms":12.3,"vmpte_kb":8244,"pagetables_kb":9000}
 * A workload exits non-zero when one of its own checks fails, after a
 *   PTREC {"phase":"check-failed","what":"..."}
 * record naming the check.
 */
#ifndef PTLIB_H
#define PTLIB_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_PT_RECLAIM
#define MADV_PT_RECLAIM 26
#endif

#define SZ_2M (2UL << 20)

static double pt_t0;

static inline double pt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * The number after "Key<sep>" in a /proc file of one key per line, or -1:
 * sep is ':' for /proc/meminfo and status, ' ' for /proc/vmstat.
 */
static inline long pt_read_key(const char *path, const char *key, char sep)
{
	char line[256];
	size_t klen = strlen(key);
	long val = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == sep) {
			val = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/* Value in kB of "Key:" from a /proc file of "Key: value kB" lines, or -1. */
static inline long pt_read_kb(const char *path, const char *key)
{
	return pt_read_key(path, key, ':');
}

static inline long pt_vmpte_kb(void)
{
	return pt_read_kb("/proc/self/status", "VmPTE");
}

static inline long pt_pagetables_kb(void)
{
	return pt_read_kb("/proc/meminfo", "PageTables");
}

/*
 * PageTables drops only after the RCU grace period frees the tables, so
 * wait until it has stopped moving: unchanged for 5 reads 20 ms apart,
 * bounded by 3 s.
 */
static inline long pt_pagetables_settled_kb(void)
{
	long last = pt_pagetables_kb(), cur;
	int stable = 0, i;

	for (i = 0; i < 150 && stable < 5; i++) {
		usleep(20000);
		cur = pt_pagetables_kb();
		stable = cur == last ? stable + 1 : 0;
		last = cur;
	}
	return last;
}

static inline void pt_start(void)
{
	pt_t0 = pt_now_ms();
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* Print a phase record; `extra` is a JSON fragment (",\"k\":v") or "". */
static inline void pt_vrecord(const char *phase, int settle, const char *fmt, va_list ap)
{
	char extra[512] = "";
	long pt = settle ? pt_pagetables_settled_kb() : pt_pagetables_kb();

	if (fmt)
		vsnprintf(extra, sizeof(extra), fmt, ap);
	printf("PTREC {\"phase\":\"%s\",\"t_ms\":%.1f,\"vmpte_kb\":%ld,\"pagetables_kb\":%ld%s}\n",
	       phase, pt_now_ms() - pt_t0, pt_vmpte_kb(), pt, extra);
}

static inline void pt_record(const char *phase, int settle, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pt_vrecord(phase, settle, fmt, ap);
	va_end(ap);
}

static inline void pt_fail(const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	printf("PTREC {\"phase\":\"check-failed\",\"what\":\"%s\"}\n", what);
	exit(1);
}

/* Private anonymous memory that commits nothing up front. */
#define PT_MAP_ANON	(MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

/*
 * Map `size` bytes (a multiple of 2 MiB) on a PMD boundary: reserve
 * size + 2 MiB, map [p, p + size) in it MAP_FIXED with `prot`, `flags` and
 * `fd` (-1 for anonymous memory), and unmap the slack on either side.
 * Fails the workload if the kernel refuses.
 */
static inline char *pt_map_aligned(size_t size, int prot, int flags, int fd)
{
	char *res, *p;

	res = mmap(NULL, size + SZ_2M, PROT_NONE, PT_MAP_ANON, -1, 0);
	if (res == MAP_FAILED)
		pt_fail("mmap reserve %zu MiB: %s", size >> 20, strerror(errno));
	p = (char *)(((unsigned long)res + SZ_2M - 1) & ~(SZ_2M - 1));
	if (mmap(p, size, prot, flags | MAP_FIXED, fd, 0) != p)
		pt_fail("mmap %zu MiB: %s", size >> 20, strerror(errno));
	if (p > res)
		munmap(res, p - res);
	munmap(p + size, res + SZ_2M - p);
	return p;
}

/*
 * pt_map_aligned() of read-write PT_MAP_ANON memory, MADV_NOHUGEPAGE (the
 * point is PTE tables; a kernel without THP refuses the advice: fine).
 */
static inline char *pt_map_anon(size_t size)
{
	char *p = pt_map_aligned(size, PROT_READ | PROT_WRITE, PT_MAP_ANON, -1);

	madvise(p, size, MADV_NOHUGEPAGE);
	return p;
}

/* The same over a new memfd `name` of `size` bytes, shared; *fd is its fd. */
static inline char *pt_map_memfd(const char *name, size_t size, int *fd)
{
	char *p;

	*fd = memfd_create(name, MFD_CLOEXEC);
	if (*fd < 0)
		pt_fail("memfd_create: %s", strerror(errno));
	if (ftruncate(*fd, size))
		pt_fail("ftruncate: %s", strerror(errno));
	p = pt_map_aligned(size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd);
	madvise(p, size, MADV_NOHUGEPAGE);
	return p;
}

/* One 4 KiB MADV_DONTNEED at the start of every 2 MiB of [p, p + size). */
static inline void pt_dontneed_tables(char *p, size_t size)
{
	size_t off;

	for (off = 0; off < size; off += SZ_2M)
		if (madvise(p + off, 4096, MADV_DONTNEED))
			pt_fail("MADV_DONTNEED at %zu: %s", off, strerror(errno));
}

#endif /* PTLIB_H */
