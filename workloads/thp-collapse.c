// SPDX-License-Identifier: GPL-2.0
/*
 * thp-collapse: reclaimed tables and transparent huge pages.
 *
 *   thp-collapse [--size-mb N] [--reclaim | --wait-ms N]
 *
 * A 2 MiB-aligned anonymous area (default 64 MiB = 32 PMD ranges) is
 * faulted in as small pages (MADV_NOHUGEPAGE).  Every odd PMD range is
 * emptied with MADV_DONTNEED in 64 KiB pieces (its table stays, empty),
 * optionally reclaimed; only then is the area switched to MADV_HUGEPAGE
 * (earlier, khugepaged could collapse a half-emptied range and fill its
 * emptied part back in, keeping a table the test counts as emptied).  The
 * odd ranges are written again: where the table was freed the fault may
 * take a huge page (the `refaulted` record reports AnonHugePages), where it
 * was kept the pages come back small.  Then MADV_COLLAPSE over the area
 * (EINVAL: a `collapse-skipped` record) and the data is checked; after a
 * successful collapse AnonHugePages in /proc/self/smaps_rollup (where the
 * kernel has it) must cover the area.
 */
#include "ptfin.h"
#include <stdint.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

static char *p;
static unsigned long size = 64UL << 20, tables;

static uint64_t val(unsigned long pg, int gen)
{
	return ((uint64_t)pg << 8 | (uint64_t)gen) * 0x9e3779b97f4a7c15ULL | 1;
}

static void write_range(unsigned long t, int gen)
{
	unsigned long pg;

	for (pg = t * 512; pg < (t + 1) * 512; pg++) {
		uint64_t *w = (uint64_t *)(p + pg * 4096);

		w[0] = val(pg, gen);
		w[511] = ~val(pg, gen);
	}
}

static void check_range(unsigned long t, int gen, const char *when)
{
	unsigned long pg;

	for (pg = t * 512; pg < (t + 1) * 512; pg++) {
		uint64_t *w = (uint64_t *)(p + pg * 4096);

		if (w[0] != val(pg, gen) || w[511] != ~val(pg, gen) || w[1] || w[510])
			pt_fail("page %lu wrong %s", pg, when);
	}
}

static long anon_huge_kb(void)
{
	return pt_read_kb("/proc/self/smaps_rollup", "AnonHugePages");
}

int main(int argc, char **argv)
{
	struct pt_fin fin = { 0 };
	unsigned long t, n_empty = 0;
	long ahp;
	int r = -1, tries;

	if (pt_args(&fin, argc, argv, &size, NULL, "[--size-mb N] "))
		return 2;
	tables = size / SZ_2M;

	pt_begin(&fin, tables);

	p = pt_map_aligned(size, PROT_READ | PROT_WRITE, PT_MAP_ANON, -1);

	if (madvise(p, size, MADV_NOHUGEPAGE))
		pt_fail("MADV_NOHUGEPAGE: %s", strerror(errno));
	for (t = 0; t < tables; t++)
		write_range(t, 1);
	pt_populated(&fin, "populated", ",\"anon_huge_kb\":%ld", anon_huge_kb());

	for (t = 1; t < tables; t += 2) {
		unsigned long off;

		for (off = 0; off < SZ_2M; off += 65536)
			if (madvise(p + t * SZ_2M + off, 65536, MADV_DONTNEED))
				pt_fail("MADV_DONTNEED: %s", strerror(errno));
		n_empty++;
	}
	pt_emptied(&fin, "emptied", ",\"tables_emptied\":%lu", n_empty);

	pt_finish(&fin, p, size, n_empty, "");

	/* Without THP support the advice is EINVAL: go on with small pages. */
	madvise(p, size, MADV_HUGEPAGE);

	for (t = 0; t < tables; t++) {
		if (t % 2 == 0)
			continue;
		if (*(volatile uint64_t *)(p + t * SZ_2M + 8192))
			pt_fail("emptied range %lu not zero", t);
		write_range(t, 2);
	}
	pt_record("refaulted", 0, ",\"anon_huge_kb\":%ld", anon_huge_kb());

	for (tries = 0; tries < 5; tries++) {
		r = madvise(p, size, MADV_COLLAPSE);
		if (!r || errno != EAGAIN)
			break;
		usleep(100000);
	}
	if (r && errno == EINVAL) {
		pt_record("collapse-skipped", 0, ",\"why\":\"MADV_COLLAPSE: %s\"",
			  strerror(errno));
	} else if (r) {
		pt_record("collapse-failed", 0, ",\"why\":\"MADV_COLLAPSE: %s\"",
			  strerror(errno));
	} else {
		ahp = anon_huge_kb();
		pt_record("collapsed", 0, ",\"anon_huge_kb\":%ld", ahp);
		if (ahp >= 0 && ahp < (long)(size >> 10))
			pt_fail("AnonHugePages %ld kB after MADV_COLLAPSE of %lu kB",
				ahp, size >> 10);
	}
	for (t = 0; t < tables; t++)
		check_range(t, t % 2 ? 2 : 1, "at the end");
	pt_record("verified", 0, "");
	return 0;
}
