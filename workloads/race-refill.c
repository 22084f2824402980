// SPDX-License-Identifier: GPL-2.0
/*
 * race-refill: correctness stress for table reclaim racing with faults.
 *
 *   race-refill [--threads N] [--seconds S] [--size-mb N]
 *               [--reclaim | --wait-ms N]
 *
 * An anonymous area (default 256 MiB = 128 PTE tables) whose even tables
 * are shared (thread t owns page 8t in each) and whose odd tables belong to
 * one thread each (pages 0 and 1).  Worker threads loop: read each of their
 * pages and check it is all zero (every other page; the rest take a write
 * fault first), write a thread-, iteration- and page-specific pattern, check
 * it, then MADV_DONTNEED the pages 4 KiB at a time (every 4th iteration an
 * owned table goes with one 2 MiB MADV_DONTNEED instead), emptying tables.
 * Meanwhile one more thread loops MADV_PT_RECLAIM over the whole area and
 * over single tables; where the kernel does not know the advice it stops and
 * the asynchronous scanner (if any) is what races.  Any wrong byte fails.
 */
#include "ptfin.h"
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#define MAX_THREADS	64
#define WORDS		(4096 / 8)
#define USAGE		"[--threads N] [--seconds S] [--size-mb N] "

struct worker {
	pthread_t tid;
	int id;
	unsigned long npages;
	uint64_t **pages;	/* the pages this thread owns */
	int *whole;		/* page starts a table this thread owns alone */
	unsigned long iters, faults;
	uint64_t cpus;		/* CPUs this thread ran on (bit n: CPU n) */
};

static char *area;
static unsigned long size = 256UL << 20, tables;
static unsigned long nthreads = 4;
static volatile int stop;
static volatile unsigned long reclaim_calls;
static volatile int reclaim_unsupported;
static pthread_barrier_t start;

static uint64_t pattern(int t, unsigned long it, unsigned long pg)
{
	uint64_t v = ((uint64_t)(t + 1) << 56) ^ ((uint64_t)it << 24) ^ (pg << 4);

	return v | 1;
}

static void check_zero(struct worker *w, uint64_t *pg, unsigned long it)
{
	unsigned long j;

	for (j = 0; j < WORDS; j++)
		if (pg[j])
			pt_fail("thread %d iter %lu: page %p word %lu is %llx, not zero",
				w->id, it, (void *)pg, j, (unsigned long long)pg[j]);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned long it, k, j;

	pthread_barrier_wait(&start);
	for (it = 0; !stop; it++) {
		for (k = 0; k < w->npages; k++) {
			uint64_t *pg = w->pages[k], v = pattern(w->id, it, k);

			if ((it + k) & 1)
				check_zero(w, pg, it);
			for (j = 0; j < WORDS; j++)
				pg[j] = v + j;
			w->faults++;
		}
		for (k = 0; k < w->npages; k++) {
			uint64_t *pg = w->pages[k], v = pattern(w->id, it, k);

			for (j = 0; j < WORDS; j++)
				if (pg[j] != v + j)
					pt_fail("thread %d iter %lu: page %p word %lu is %llx, wrote %llx",
						w->id, it, (void *)pg, j,
						(unsigned long long)pg[j],
						(unsigned long long)(v + j));
		}
		for (k = 0; k < w->npages; k++) {
			void *pg = w->pages[k];
			size_t len = 4096;

			if (w->whole[k] && it % 4 == 3) {
				len = SZ_2M;
				k++;	/* the owned table's second page goes too */
			}
			if (madvise(pg, len, MADV_DONTNEED))
				pt_fail("thread %d: MADV_DONTNEED: %s", w->id, strerror(errno));
		}
		if (it % 8 == 7)
			sched_yield();
		w->cpus |= 1ULL << (sched_getcpu() & 63);
	}
	w->iters = it;
	return NULL;
}

static void *reclaimer_main(void *arg)
{
	unsigned long n = 0;

	(void)arg;
	pthread_barrier_wait(&start);
	while (!stop) {
		char *a = area;
		size_t len = size;

		if (n & 1) {
			a += ((n / 2) % tables) * SZ_2M;
			len = SZ_2M;
		}
		if (madvise(a, len, MADV_PT_RECLAIM)) {
			if (errno == EINVAL) {
				reclaim_unsupported = 1;
				break;
			}
			pt_fail("MADV_PT_RECLAIM: %s", strerror(errno));
		}
		reclaim_calls = ++n;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long seconds = 10, i, t, iters = 0, faults = 0;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	static struct worker w[MAX_THREADS];
	uint64_t cpus = 0;
	struct pt_fin fin = { 0 };
	const struct pt_opt opts[] = {
		{ "--threads", PT_OPT_ULONG, &nthreads },
		{ "--seconds", PT_OPT_ULONG, &seconds },
		{ NULL },
	};
	pthread_t rt;

	if (pt_args(&fin, argc, argv, &size, opts, USAGE))
		return 2;
	if (!nthreads || nthreads > MAX_THREADS || size < 4 * SZ_2M)
		return pt_usage(argv[0], USAGE);
	tables = size / SZ_2M;

	pt_start();
	pt_baseline(&fin, ",\"tables\":%lu,\"threads\":%lu", tables, nthreads);

	area = pt_map_anon(size);

	for (t = 0; t < nthreads; t++) {
		w[t].id = t;
		w[t].pages = calloc(tables * 2, sizeof(*w[t].pages));
		w[t].whole = calloc(tables * 2, sizeof(*w[t].whole));
		if (!w[t].pages || !w[t].whole)
			pt_fail("calloc");
	}
	for (i = 0; i < tables; i++) {
		char *tb = area + i * SZ_2M;

		if (i % 2 == 0) {
			for (t = 0; t < nthreads; t++)
				w[t].pages[w[t].npages++] = (uint64_t *)(tb + t * 8 * 4096);
		} else {
			t = (i / 2) % nthreads;
			w[t].whole[w[t].npages] = 1;
			w[t].pages[w[t].npages++] = (uint64_t *)tb;
			w[t].pages[w[t].npages++] = (uint64_t *)(tb + 4096);
		}
	}
	/* Every page the workers use starts as a zero-filled anonymous page. */
	for (t = 0; t < nthreads; t++)
		for (i = 0; i < w[t].npages; i++)
			w[t].pages[i][0] = 0;
	/* Threads (and their stacks) exist before `populated`; they wait. */
	pthread_barrier_init(&start, NULL, nthreads + 2);
	if (pthread_create(&rt, NULL, reclaimer_main, NULL))
		pt_fail("pthread_create");
	for (t = 0; t < nthreads; t++)
		if (pthread_create(&w[t].tid, NULL, worker_main, &w[t]))
			pt_fail("pthread_create");
	usleep(20000);
	pt_populated(&fin, "populated", "");
	pthread_barrier_wait(&start);
	usleep(seconds * 1000000UL);
	stop = 1;
	for (t = 0; t < nthreads; t++) {
		pthread_join(w[t].tid, NULL);
		iters += w[t].iters;
		faults += w[t].faults;
	}
	pthread_join(rt, NULL);
	for (t = 0; t < nthreads; t++)
		cpus |= w[t].cpus;
	pt_emptied(&fin, "emptied",
		   ",\"iterations\":%lu,\"page_writes\":%lu,\"reclaim_calls\":%lu,\"reclaim_supported\":%s,\"cpus_online\":%ld,\"cpus_seen\":%d",
		   iters, faults, reclaim_calls, reclaim_unsupported ? "false" : "true",
		   online, __builtin_popcountll(cpus));
	/* A race on one CPU is no race: the threads must have run on two. */
	if (online >= 2 && __builtin_popcountll(cpus) < 2)
		pt_fail("the threads ran on %d CPU of %ld online: no race was tested",
			__builtin_popcountll(cpus), online);

	pt_finish(&fin, area, size, tables, "");

	for (t = 0; t < nthreads; t++)
		for (i = 0; i < w[t].npages; i++)
			check_zero(&w[t], w[t].pages[i], w[t].iters);
	pt_record("verified", 0, "");
	return 0;
}
