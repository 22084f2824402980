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

int main(int argc, char **argv)
{
	unsigned long ntables = 512, seconds = 5, max_iters = 0, it, t;
	struct pt_fin fin = { 0 };
	double t0, t1, deadline;
	size_t size;
	char *res, *p;
	int a;

	for (a = 1; a < argc; a++) {
		if (pt_fin_arg(&fin, argc, argv, &a))
			continue;
		if (!strcmp(argv[a], "--tables") && a + 1 < argc)
			ntables = strtoul(argv[++a], NULL, 0);
		else if (!strcmp(argv[a], "--seconds") && a + 1 < argc)
			seconds = strtoul(argv[++a], NULL, 0);
		else if (!strcmp(argv[a], "--iterations") && a + 1 < argc)
			max_iters = strtoul(argv[++a], NULL, 0);
		else
			goto usage;
	}
	if (pt_fin_check(&fin, argv[0]))
		return 2;
	if (!ntables || (!seconds && !max_iters))
		goto usage;
	size = ntables * SZ_2M;

	pt_start();
	pt_record("baseline", 1, ",\"tables\":%lu", ntables);
	fin.base_kb = pt_vmpte_kb();

	res = mmap(NULL, size + SZ_2M, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		pt_fail("mmap: %s", strerror(errno));
	p = (char *)(((unsigned long)res + SZ_2M - 1) & ~(SZ_2M - 1));
	madvise(p, size, MADV_NOHUGEPAGE);

	for (t = 0; t < ntables; t++)
		p[t * SZ_2M] = 1;
	pt_record("populated", 0, "");
	fin.pop_kb = pt_vmpte_kb();
	for (t = 0; t < ntables; t++)
		if (madvise(p + t * SZ_2M, 4096, MADV_DONTNEED))
			pt_fail("MADV_DONTNEED: %s", strerror(errno));

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
	fin.t_emptied = t1;
	pt_record("emptied", 1, ",\"iterations\":%lu", it);

	pt_finish(&fin, p, size, ntables, "");

	for (t = 0; t < ntables; t++)
		if (p[t * SZ_2M + ((it - 1) % 512) * 4096])
			pt_fail("table %lu: page not zero after MADV_DONTNEED", t);
	pt_record("result", 0,
		  ",\"iterations\":%lu,\"faults\":%lu,\"ms\":%.1f,\"ns_per_fault\":%.0f",
		  it, it * ntables, t1 - t0,
		  it ? (t1 - t0) * 1e6 / (it * ntables) : 0.0);
	return 0;

usage:
	fprintf(stderr, "usage: %s [--tables N] [--seconds S | --iterations N] "
		PT_FIN_USAGE "\n", argv[0]);
	return 2;
}
