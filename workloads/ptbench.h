/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the neighbour benchmarks (neighbour-latency, tlb-churn,
 * uffd-copy), which measure what the scanner costs the rest of the
 * process it scans: the sparse area that keeps the scanner busy, the CPUs
 * a thread ran on, latency samples and their percentiles.
 *
 * Records (besides ptlib.h's phase records), one per thread and operation:
 *   PTREC {"phase":"latency","op":"mmap","n":N,"dropped":0,"p50_us":9.1,
 *          "p99_us":40.2,"max_us":17000.5,"cut_off_ms":0.0,"cpus":"0,1"}
 *   PTREC {"phase":"rate","op":"dontneed","ops":N,"ms":2000.1,
 *          "ops_per_s":51234.0,"cpus":"0,1","utime_ms":20.0,
 *          "stime_ms":1900.0,"nvcsw":3,"nivcsw":40}
 * (the thread's own CPU time and context switches while it counted:
 * slices it hosted show as fewer ops per ms of stime, waits for the
 * mmap_lock as nvcsw and as wall time its CPU time lacks)
 * and one `scanner` record of how far /proc/vmstat's pt_reclaim_scanned
 * and pt_reclaim_freed moved while they ran (-1 without the counters), so
 * a run of mode `always` shows the scanner really walked the area:
 *   PTREC {"phase":"scanner","scanned":81920,"freed":0,"online_cpus":2}
 */
#ifndef PTBENCH_H
#define PTBENCH_H

#include "ptfin.h"	/* first: ptlib.h defines _GNU_SOURCE; pt_args() */
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>

/*
 * `size` bytes of anonymous memory whose every 2 MiB holds one PTE table
 * with only its LAST page written: never empty, so the scanner keeps
 * walking it, and a lockless emptiness check that reads the entries in
 * order has to read the whole table before it finds the one in use.
 *
 * The area is populated with the scanner kept off this mm
 * (PR_PT_RECLAIM_DISABLE; a kernel without the prctl has no scanner to
 * keep off), then handed back to the mode: else a run of mode always
 * spends its set-up (measured: 24-78 s under TCG) walking the half-made
 * area on every tick, and nothing of that is measured.
 */
static inline char *pt_map_busy(size_t size)
{
	int opted_out = !prctl(PR_SET_PT_RECLAIM, PR_PT_RECLAIM_DISABLE, 0, 0, 0);
	char *p = pt_map_anon(size);
	size_t off;

	for (off = 0; off < size; off += SZ_2M)
		p[off + SZ_2M - 4096] = 1;
	if (opted_out && prctl(PR_SET_PT_RECLAIM, PR_PT_RECLAIM_DEFAULT, 0, 0, 0))
		pt_fail("PR_SET_PT_RECLAIM default: %s", strerror(errno));
	return p;
}

static inline long pt_vmstat_scanned(void)
{
	return pt_read_key("/proc/vmstat", "pt_reclaim_scanned", ' ');
}

static inline long pt_vmstat_freed(void)
{
	return pt_read_key("/proc/vmstat", "pt_reclaim_freed", ' ');
}

/* The CPUs a thread has run on, as a mask (the guests have 2..8 vCPUs). */
static inline void pt_cpu_seen(unsigned long *mask)
{
	int cpu = sched_getcpu();

	if (cpu >= 0 && cpu < (int)(8 * sizeof(*mask)))
		*mask |= 1UL << cpu;
}

/* "0,1" from a mask; `buf` of at least 200 bytes. */
static inline const char *pt_cpu_list(unsigned long mask, char *buf, size_t len)
{
	size_t used = 0;
	int cpu;

	buf[0] = '\0';
	for (cpu = 0; cpu < (int)(8 * sizeof(mask)) && used + 4 < len; cpu++)
		if (mask & (1UL << cpu))
			used += snprintf(buf + used, len - used, "%s%d", used ? "," : "", cpu);
	return buf;
}

static inline int pt_cpu_count(unsigned long mask)
{
	return __builtin_popcountl(mask);
}

/* Latency samples of one operation in one thread, in microseconds. */
struct pt_lat {
	float *us;
	size_t n, cap;
	unsigned long dropped;	/* samples past `cap`: not in the figures */
	unsigned long cpus;	/* pt_cpu_seen() mask */
};

static inline void pt_lat_init(struct pt_lat *l, size_t cap)
{
	memset(l, 0, sizeof(*l));
	l->us = malloc(cap * sizeof(*l->us));
	if (!l->us)
		pt_fail("malloc %zu latency samples", cap);
	l->cap = cap;
}

static inline void pt_lat_add(struct pt_lat *l, double ms)
{
	if (l->n < l->cap)
		l->us[l->n++] = (float)(ms * 1e3);
	else
		l->dropped++;
}

static inline int pt_float_cmp(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

/*
 * The `latency` record of `op`: count, p50, p99, max and CPUs seen;
 * `cut_off_ms` > 0: the last sample is an operation cut off unfinished
 * after that long (a lower bound of its latency).
 */
static inline void pt_lat_record(struct pt_lat *l, const char *op, double cut_off_ms)
{
	char cpus[200];

	if (!l->n)
		pt_fail("%s: no latency sample", op);
	qsort(l->us, l->n, sizeof(*l->us), pt_float_cmp);
	printf("PTREC {\"phase\":\"latency\",\"op\":\"%s\",\"n\":%zu,\"dropped\":%lu,"
	       "\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"cut_off_ms\":%.1f,"
	       "\"cpus\":\"%s\"}\n",
	       op, l->n, l->dropped, l->us[l->n / 2], l->us[l->n * 99 / 100],
	       l->us[l->n - 1], cut_off_ms, pt_cpu_list(l->cpus, cpus, sizeof(cpus)));
}

/* A thread's CPU time and context switches at one moment. */
struct pt_thread_time {
	double utime_ms, stime_ms;
	long nvcsw, nivcsw;
};

static inline double pt_timeval_ms(struct timeval tv)
{
	return tv.tv_sec * 1e3 + tv.tv_usec / 1e3;
}

static inline struct pt_thread_time pt_thread_time(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		pt_fail("getrusage: %s", strerror(errno));
	return (struct pt_thread_time){ pt_timeval_ms(ru.ru_utime),
		pt_timeval_ms(ru.ru_stime), ru.ru_nvcsw, ru.ru_nivcsw };
}

/*
 * The `rate` record of `ops` operations of `op` done in `ms` by the calling
 * thread, which took `from` (pt_thread_time()) when it started counting.
 */
static inline void pt_rate_record(const char *op, unsigned long ops, double ms,
				  unsigned long cpu_mask, struct pt_thread_time from)
{
	struct pt_thread_time now = pt_thread_time();
	char cpus[200];

	printf("PTREC {\"phase\":\"rate\",\"op\":\"%s\",\"ops\":%lu,\"ms\":%.1f,"
	       "\"ops_per_s\":%.1f,\"cpus\":\"%s\",\"utime_ms\":%.1f,"
	       "\"stime_ms\":%.1f,\"nvcsw\":%ld,\"nivcsw\":%ld}\n",
	       op, ops, ms, ms > 0 ? ops * 1e3 / ms : 0.0,
	       pt_cpu_list(cpu_mask, cpus, sizeof(cpus)),
	       now.utime_ms - from.utime_ms, now.stime_ms - from.stime_ms,
	       now.nvcsw - from.nvcsw, now.nivcsw - from.nivcsw);
}

/* /proc/vmstat's pt_reclaim counters at one moment (-1: no counter). */
struct pt_scan_mark {
	long scanned, freed;
};

static inline struct pt_scan_mark pt_scan_mark(void)
{
	return (struct pt_scan_mark){ pt_vmstat_scanned(), pt_vmstat_freed() };
}

static inline long pt_delta(long from, long now)
{
	return from < 0 || now < 0 ? -1L : now - from;
}

/* The `scanner` record: how far the counters moved since `from`. */
static inline void pt_scanner_record(struct pt_scan_mark from)
{
	struct pt_scan_mark now = pt_scan_mark();

	printf("PTREC {\"phase\":\"scanner\",\"scanned\":%ld,\"freed\":%ld,"
	       "\"online_cpus\":%ld}\n", pt_delta(from.scanned, now.scanned),
	       pt_delta(from.freed, now.freed), sysconf(_SC_NPROCESSORS_ONLN));
}

#endif /* PTBENCH_H */
