// SPDX-License-Identifier: GPL-2.0
/*
 * malloc-churn: a "real program": glibc malloc/free from several threads.
 *
 *   malloc-churn [--threads N] [--seconds S] [--seed X] [--slots N]
 *                [--reclaim | --wait-ms N]
 *
 * Each thread keeps --slots live blocks (default 256) and replaces a random
 * one at a time: mostly 16 B .. 4 KiB, some 4 KiB .. 1 MiB, a few 4-64 MiB
 * (above the mmap threshold; at most two of those live per thread).  Every
 * block gets a pattern written into it (all of it up to 64 KiB, one word per
 * 4 KiB page up to 1 MiB, one word per 64 KiB above) that is checked before
 * free.  `populated` is taken with every thread's blocks still live at the
 * end (with the peak VmPTE seen while running); then everything is freed,
 * malloc_trim(0) runs, and `emptied` is recorded.  --reclaim calls
 * MADV_PT_RECLAIM on every anonymous private writable mapping.
 */
#include "ptfin.h"
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>

#define MAX_THREADS	64
#define MAX_BIG		2
#define USAGE		"[--threads N] [--seconds S] [--seed X] [--slots N] "

struct blk {
	uint64_t *p;
	size_t size;
	uint64_t tag;
};

struct worker {
	pthread_t tid;
	int id;
	unsigned long slots;
	uint64_t rng;
	unsigned long ops;
	int nbig;
	struct blk *b;
};

static volatile int stop;
static pthread_barrier_t live_barrier, free_barrier;

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static size_t stride_of(size_t size)
{
	if (size <= 65536)
		return 8;
	if (size <= (1UL << 20))
		return 4096;
	return 65536;
}

static void fill(struct blk *b)
{
	size_t st = stride_of(b->size), off;

	for (off = 0; off + 8 <= b->size; off += st)
		b->p[off / 8] = b->tag ^ off;
	/* The last whole word too, when the stride skipped it. */
	off = (b->size - 8) & ~7UL;
	b->p[off / 8] = b->tag ^ off;
}

static void check(struct blk *b, int id)
{
	size_t st = stride_of(b->size), off;

	for (off = 0; off + 8 <= b->size; off += st)
		if (b->p[off / 8] != (b->tag ^ off))
			pt_fail("thread %d: block of %zu B corrupt at %zu", id, b->size, off);
	off = (b->size - 8) & ~7UL;
	if (b->p[off / 8] != (b->tag ^ off))
		pt_fail("thread %d: block of %zu B corrupt at its end", id, b->size);
}

static size_t pick_size(struct worker *w)
{
	uint64_t r = rnd(&w->rng), c = r % 1000;

	r >>= 10;
	if (c < 2 && w->nbig < MAX_BIG)
		return (4UL << 20) + r % (60UL << 20);
	if (c < 12)
		return (256UL << 10) + r % (768UL << 10);
	if (c < 100)
		return 4096 + r % ((256UL << 10) - 4096);
	return 16 + r % (4096 - 16);
}

static void drop(struct worker *w, struct blk *b)
{
	check(b, w->id);
	if (b->size >= (4UL << 20))
		w->nbig--;
	free(b->p);
	b->p = NULL;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned long i;

	w->b = calloc(w->slots, sizeof(*w->b));
	if (!w->b)
		pt_fail("thread %d: calloc", w->id);
	while (!stop) {
		for (i = 0; i < 256; i++) {
			struct blk *b = &w->b[rnd(&w->rng) % w->slots];

			if (b->p)
				drop(w, b);
			b->size = pick_size(w);
			b->p = malloc(b->size);
			if (!b->p)
				pt_fail("thread %d: malloc %zu: %s", w->id, b->size,
					strerror(errno));
			if (b->size >= (4UL << 20))
				w->nbig++;
			b->tag = rnd(&w->rng) | 1;
			fill(b);
			w->ops++;
		}
	}
	/* All blocks live: main records `populated`, then everyone frees. */
	pthread_barrier_wait(&live_barrier);
	pthread_barrier_wait(&free_barrier);
	for (i = 0; i < w->slots; i++)
		if (w->b[i].p)
			drop(w, &w->b[i]);
	free(w->b);
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long threads = 4, seconds = 5, slots = 256, ops = 0, i;
	uint64_t seed = 0x5eed5eedULL;
	static struct worker w[MAX_THREADS];
	struct pt_fin fin = { 0 };
	const struct pt_opt opts[] = {
		{ "--threads", PT_OPT_ULONG, &threads },
		{ "--seconds", PT_OPT_ULONG, &seconds },
		{ "--seed", PT_OPT_U64, &seed },
		{ "--slots", PT_OPT_ULONG, &slots },
		{ NULL },
	};
	long peak = 0, cur;
	double t_end;

	if (pt_args(&fin, argc, argv, NULL, opts, USAGE))
		return 2;
	if (!threads || threads > MAX_THREADS || !slots)
		return pt_usage(argv[0], USAGE);

	pt_start();
	pt_baseline(&fin, ",\"threads\":%lu,\"seconds\":%lu", threads, seconds);

	/*
	 * A fixed threshold: glibc would otherwise raise it to the size of
	 * each big block freed, and serve the next ones from the arenas.
	 */
	mallopt(M_MMAP_THRESHOLD, 2 << 20);
	pthread_barrier_init(&live_barrier, NULL, threads + 1);
	pthread_barrier_init(&free_barrier, NULL, threads + 1);
	for (i = 0; i < threads; i++) {
		w[i].id = i;
		w[i].slots = slots;
		w[i].rng = seed * 0x9e3779b97f4a7c15ULL + i * 0x632be59bd9b4e019ULL + 1;
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]))
			pt_fail("pthread_create");
	}
	t_end = pt_now_ms() + seconds * 1000.0;
	while (pt_now_ms() < t_end) {
		usleep(50000);
		cur = pt_vmpte_kb();
		if (cur > peak)
			peak = cur;
	}
	stop = 1;
	pthread_barrier_wait(&live_barrier);
	for (i = 0; i < threads; i++)
		ops += w[i].ops;
	pt_populated(&fin, "populated", ",\"peak_vmpte_kb\":%ld,\"ops\":%lu", peak, ops);
	pthread_barrier_wait(&free_barrier);
	for (i = 0; i < threads; i++)
		pthread_join(w[i].tid, NULL);
	malloc_trim(0);
	pt_emptied(&fin, "emptied", ",\"ops\":%lu", ops);

	pt_finish(&fin, NULL, 0, PT_FIN_UNKNOWN, "");
	return 0;
}
