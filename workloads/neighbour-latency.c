// SPDX-License-Identifier: GPL-2.0
/*
 * neighbour-latency: what the scanner costs the other threads of the
 * process it scans.  A VMA of --size-mb (default 16 GiB) of sparse but
 * populated PTE tables (the last page of every 2 MiB written: no table is
 * empty, every one is read whole) keeps the scanner walking; meanwhile
 * two threads time, for --seconds:
 *   mmap:  mmap + munmap of a --map-kb area (each takes the mmap_lock for
 *          write, so it waits for a scanner pass holding it for read);
 *   fault: a write fault on a fresh page of a --fault-mb area of its own
 *          (emptied by one MADV_DONTNEED, untimed, when used up).
 * Run it in mode `never` and mode `always` (the harness alternates them,
 * harness/data/neighbours.toml) and compare.
 *
 *   neighbour-latency [--size-mb N] [--seconds S] [--map-kb K] [--fault-mb M]
 *
 * Records: `populated` (the busy area's tables), then one `latency` record
 * per operation (ptbench.h: n, p50/p99/max in us, the CPUs its thread ran
 * on) and a `scanner` record (tables the scanner examined meanwhile).
 * The threads are not pinned: a scanner pass runs as task_work of
 * whichever thread the tick found running, so a thread's figures include
 * both waiting behind a pass on the other CPU and running one itself.
 *
 * A thread can stay in the kernel far past the end: when a pass takes
 * longer than the scan delay, the tick queues the next one while it runs
 * and the thread never gets back to user space (measured: one mmap+munmap
 * of 47 s).  So the main thread waits at most --grace-s (default 10) past
 * the end, then prints what it has, an operation still in flight counted
 * with the time it has taken so far (its record says "cut_off_ms": a
 * lower bound), and exits, which kills the stuck thread.
 */
#include "ptbench.h"
#include <pthread.h>

#define USAGE "[--size-mb N] [--seconds S] [--map-kb K] [--fault-mb M] [--grace-s G]"
#define MAX_SAMPLES (4UL << 20)

static unsigned long seconds = 3, map_kb = 64, fault_mb = 64, grace_s = 10;
static pthread_barrier_t start;
static double deadline;
static struct pt_lat mmap_lat, fault_lat;
/* pt_now_ms() when the thread's operation in flight began, 0: none. */
static volatile double mmap_since, fault_since;
static volatile int threads_done;

static void *mmap_main(void *arg)
{
	size_t len = map_kb << 10;

	(void)arg;
	pthread_barrier_wait(&start);
	while (pt_now_ms() < deadline) {
		double t0 = mmap_since = pt_now_ms();
		void *q = mmap(NULL, len, PROT_READ | PROT_WRITE, PT_MAP_ANON, -1, 0);

		if (q == MAP_FAILED)
			pt_fail("mmap %lu KiB: %s", map_kb, strerror(errno));
		if (munmap(q, len))
			pt_fail("munmap: %s", strerror(errno));
		pt_lat_add(&mmap_lat, pt_now_ms() - t0);
		mmap_since = 0;
		pt_cpu_seen(&mmap_lat.cpus);
	}
	__atomic_add_fetch(&threads_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *fault_main(void *arg)
{
	size_t len = fault_mb << 20, off = 0;
	char *p = pt_map_anon(len);

	(void)arg;
	pthread_barrier_wait(&start);
	while (pt_now_ms() < deadline) {
		volatile char *c = p + off;
		double t0 = fault_since = pt_now_ms();

		*c = 1;
		pt_lat_add(&fault_lat, pt_now_ms() - t0);
		fault_since = 0;
		pt_cpu_seen(&fault_lat.cpus);
		off += 4096;
		if (off == len) {
			if (madvise(p, len, MADV_DONTNEED))
				pt_fail("MADV_DONTNEED: %s", strerror(errno));
			off = 0;
		}
	}
	__atomic_add_fetch(&threads_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * The `latency` record of `op`, an operation still in flight since
 * `since` counted with the time it has taken so far.  The thread may come
 * back and add a sample meanwhile: the figures are of a copy.
 */
static void cut_off(struct pt_lat *l, double since, const char *op)
{
	struct pt_lat copy = *l;
	double cut_ms = since ? pt_now_ms() - since : 0;

	copy.us = malloc((copy.n + 1) * sizeof(*copy.us));
	if (!copy.us)
		pt_fail("malloc");
	memcpy(copy.us, l->us, copy.n * sizeof(*copy.us));
	copy.cap = copy.n + 1;
	if (since)
		pt_lat_add(&copy, cut_ms);
	pt_lat_record(&copy, op, cut_ms);
}

int main(int argc, char **argv)
{
	unsigned long size_mb = 16384;
	struct pt_fin fin = { 0 };
	const struct pt_opt opts[] = {
		{ "--size-mb", PT_OPT_ULONG, &size_mb },
		{ "--seconds", PT_OPT_ULONG, &seconds },
		{ "--map-kb", PT_OPT_ULONG, &map_kb },
		{ "--fault-mb", PT_OPT_ULONG, &fault_mb },
		{ "--grace-s", PT_OPT_ULONG, &grace_s },
		{ NULL },
	};
	pthread_t mt, ft;
	size_t size;
	struct pt_scan_mark mark;

	if (pt_args(&fin, argc, argv, NULL, opts, USAGE) || fin.reclaim || fin.wait_ms)
		return pt_usage(argv[0], USAGE);
	size = size_mb << 20;
	if (!size || size % SZ_2M || !seconds || !map_kb || !fault_mb)
		return pt_usage(argv[0], USAGE);

	pt_start();
	pt_map_busy(size);
	pt_record("populated", 0, ",\"tables\":%lu", (unsigned long)(size / SZ_2M));

	pt_lat_init(&mmap_lat, MAX_SAMPLES);
	pt_lat_init(&fault_lat, MAX_SAMPLES);
	pthread_barrier_init(&start, NULL, 3);
	if (pthread_create(&mt, NULL, mmap_main, NULL) ||
	    pthread_create(&ft, NULL, fault_main, NULL))
		pt_fail("pthread_create");
	mark = pt_scan_mark();
	deadline = pt_now_ms() + seconds * 1000.0;
	pthread_barrier_wait(&start);
	/* Asleep, not spinning: the tick queues passes on running threads. */
	while (__atomic_load_n(&threads_done, __ATOMIC_SEQ_CST) < 2 &&
	       pt_now_ms() < deadline + grace_s * 1000.0)
		usleep(100000);
	if (__atomic_load_n(&threads_done, __ATOMIC_SEQ_CST) == 2) {
		pthread_join(mt, NULL);
		pthread_join(ft, NULL);
	}

	cut_off(&mmap_lat, mmap_since, "mmap");
	cut_off(&fault_lat, fault_since, "fault");
	pt_scanner_record(mark);
	fflush(stdout);
	_exit(0);		/* a thread still in the kernel is killed */
}
