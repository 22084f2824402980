// SPDX-License-Identifier: GPL-2.0
/*
 * tlb-churn: what a scanner pass in flight costs a thread that unmaps.
 * A VMA of --size-mb (default 16 GiB) of sparse but populated PTE tables
 * (ptbench.h: the last page of every 2 MiB written) keeps the scanner
 * walking, hosted mostly by a thread that spins in user space on the other
 * CPU; meanwhile one thread counts, for --seconds each:
 *   munmap:   mmap 4 KiB, write it, munmap it;
 *   dontneed: write a page of a table of its own and drop it again with a
 *             4 KiB MADV_DONTNEED (a kept page at the table's end stops
 *             the scanner freeing the table, which fault-loop measures).
 * Both flush the one page from the TLB.  A scanner that holds an
 * mmu_gather open across its walk raises mm->tlb_flush_pending, and while
 * it is raised every other unmap of the mm sees mm_tlb_flush_nested() and
 * turns its ranged flush into a full one, on every CPU the mm runs on.
 * Run it in mode `never` and mode `always` (the harness alternates them,
 * harness/data/neighbours.toml) and compare the rates.
 *
 *   tlb-churn [--size-mb N] [--seconds S]
 *
 * Records: `populated`, one `rate` record per operation (ptbench.h), a
 * `spinner` record (the CPUs the spinner ran on, and its system time, most
 * of it the scanner slices it hosted) and a `scanner` record.
 */
#include "ptbench.h"
#include <pthread.h>

#define USAGE "[--size-mb N] [--seconds S]"

static volatile int stop;
static unsigned long spinner_cpus;
static struct pt_thread_time spinner_time;

/* Runs in user space, so that the tick finds it and queues passes on it. */
static void *spinner_main(void *arg)
{
	unsigned long n = 0;

	(void)arg;
	while (!stop)
		if ((++n & 0xfffff) == 0)
			pt_cpu_seen(&spinner_cpus);
	pt_cpu_seen(&spinner_cpus);
	spinner_time = pt_thread_time();
	return NULL;
}

static void churn_munmap(double ms)
{
	struct pt_thread_time tt = pt_thread_time();
	double t0 = pt_now_ms(), end = t0 + ms;
	unsigned long ops = 0, cpus = 0;

	while (pt_now_ms() < end) {
		char *q = mmap(NULL, 4096, PROT_READ | PROT_WRITE, PT_MAP_ANON, -1, 0);

		if (q == MAP_FAILED)
			pt_fail("mmap: %s", strerror(errno));
		q[0] = 1;
		if (munmap(q, 4096))
			pt_fail("munmap: %s", strerror(errno));
		if ((++ops & 0xff) == 0)
			pt_cpu_seen(&cpus);
	}
	pt_cpu_seen(&cpus);
	pt_rate_record("munmap", ops, pt_now_ms() - t0, cpus, tt);
}

static void churn_dontneed(double ms)
{
	char *p = pt_map_anon(SZ_2M);
	struct pt_thread_time tt;
	double t0, end;
	unsigned long ops = 0, cpus = 0;

	p[SZ_2M - 4096] = 1;		/* the kept page */
	tt = pt_thread_time();
	t0 = pt_now_ms();
	end = t0 + ms;
	while (pt_now_ms() < end) {
		volatile char *c = p + (ops % 511) * 4096;

		*c = 1;
		if (madvise((char *)c, 4096, MADV_DONTNEED))
			pt_fail("MADV_DONTNEED: %s", strerror(errno));
		if ((++ops & 0xff) == 0)
			pt_cpu_seen(&cpus);
	}
	pt_cpu_seen(&cpus);
	pt_rate_record("dontneed", ops, pt_now_ms() - t0, cpus, tt);
	if (p[SZ_2M - 4096] != 1)
		pt_fail("the kept page lost its data");
	munmap(p, SZ_2M);
}

int main(int argc, char **argv)
{
	unsigned long size_mb = 16384, seconds = 2;
	struct pt_fin fin = { 0 };
	const struct pt_opt opts[] = {
		{ "--size-mb", PT_OPT_ULONG, &size_mb },
		{ "--seconds", PT_OPT_ULONG, &seconds },
		{ NULL },
	};
	struct pt_scan_mark mark;
	char cpus[200];
	pthread_t st;
	size_t size;

	if (pt_args(&fin, argc, argv, NULL, opts, USAGE) || fin.reclaim || fin.wait_ms)
		return pt_usage(argv[0], USAGE);
	size = size_mb << 20;
	if (!size || size % SZ_2M || !seconds)
		return pt_usage(argv[0], USAGE);

	pt_start();
	pt_map_busy(size);
	pt_record("populated", 0, ",\"tables\":%lu", (unsigned long)(size / SZ_2M));

	if (pthread_create(&st, NULL, spinner_main, NULL))
		pt_fail("pthread_create");
	mark = pt_scan_mark();
	churn_munmap(seconds * 1000.0);
	churn_dontneed(seconds * 1000.0);
	stop = 1;
	pthread_join(st, NULL);
	printf("PTREC {\"phase\":\"spinner\",\"cpus\":\"%s\",\"stime_ms\":%.1f}\n",
	       pt_cpu_list(spinner_cpus, cpus, sizeof(cpus)), spinner_time.stime_ms);
	pt_scanner_record(mark);
	return 0;
}
