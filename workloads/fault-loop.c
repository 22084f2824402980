// SPDX-License-Identifier: GPL-2.0
/*
 * fault-loop: the overhead benchmark.  Faults one page in each of --tables
 * PTE tables and MADV_DONTNEEDs it again (4 KiB), over and over, so that
 * every table is empty between iterations: a scanner that frees them makes
 * each fault allocate a table again.  Compare mode `never` with `always`.
 *
 *   fault-loop [--tables N] [--seconds S | --iterations N]
 *              [--reclaim | --wait-ms N]
 *
 * Prints the usual phase records and a final `result` record with
 * "iterations", "faults", "ms" (the timed loop) and "ns_per_fault" (one
 * write fault plus one 4 KiB MADV_DONTNEED per fault).
 */
#include "ptfin.h"

#define USAGE "[--tables N] [--seconds S | --iterations N] "

int main(int argc, char **argv)
{
	unsigned long ntables = 512, seconds = 5, max_iters = 0, it, t;
	struct pt_fin fin = { 0 };
	double t0, t1, deadline;
	const struct pt_opt opts[] = {
		{ "--tables", PT_OPT_ULONG, &ntables },
		{ "--seconds", PT_OPT_ULONG, &seconds },
		{ "--iterations", PT_OPT_ULONG, &max_iters },
		{ NULL },
	};
	size_t size;
	char *p;

	if (pt_args(&fin, argc, argv, NULL, opts, USAGE))
		return 2;
	if (!ntables || (!seconds && !max_iters))
		return pt_usage(argv[0], USAGE);
	size = ntables * SZ_2M;

	pt_begin(&fin, ntables);

	p = pt_map_anon(size);

	for (t = 0; t < ntables; t++)
		p[t * SZ_2M] = 1;
	pt_populated(&fin, "populated", "");
	pt_dontneed_tables(p, size);

	t0 = pt_now_ms();
	deadline = max_iters ? 0 : t0 + seconds * 1000.0;
	for (it = 0; max_iters ? it < max_iters : pt_now_ms() < deadline; it++) {
		char v = (char)(it | 1);

		for (t = 0; t < ntables; t++) {
			volatile char *c = p + t * SZ_2M + (it % 512) * 4096;

			*c = v;
			if (*c != v)
				pt_fail("iteration %lu table %lu: read back wrong", it, t);
			if (madvise((char *)c, 4096, MADV_DONTNEED))
				pt_fail("MADV_DONTNEED: %s", strerror(errno));
		}
	}
	t1 = pt_now_ms();
	pt_emptied(&fin, "emptied", ",\"iterations\":%lu", it);

	pt_finish(&fin, p, size, ntables, "");

	for (t = 0; t < ntables; t++)
		if (p[t * SZ_2M + ((it - 1) % 512) * 4096])
			pt_fail("table %lu: page not zero after MADV_DONTNEED", t);
	pt_record("result", 0,
		  ",\"iterations\":%lu,\"faults\":%lu,\"ms\":%.1f,\"ns_per_fault\":%.0f",
		  it, it * ntables, t1 - t0,
		  it ? (t1 - t0) * 1e6 / (it * ntables) : 0.0);
	return 0;
}
