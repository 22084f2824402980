// SPDX-License-Identifier: GPL-2.0
/*
 * mremap-move: empty and reclaimed tables moved by mremap().
 *
 *   mremap-move [--size-mb N] [--reclaim | --wait-ms N]
 *
 * An anonymous area (default 1024 MiB = 512 tables) gets one page per
 * 2 MiB; every table but each 8th is emptied with a 4 KiB MADV_DONTNEED,
 * so one live page stays in every 8th table.
 * Pass 1: empty, reclaim (optional), then mremap(MAYMOVE | FIXED) the area
 *         to another 2 MiB-aligned place, check VmPTE and the contents.
 * Pass 2: fill again, empty, mremap first and reclaim afterwards (records
 *         with suffix 2), check VmPTE and the contents.
 * VmPTE after a move must not grow by more than a few upper-level tables
 * and must still hold the live tables.
 */
#include "ptfin.h"

#define VAL(pass, i)	((unsigned char)((i) * 11 + (pass) * 77) | 1)

static unsigned long size = 1024UL << 20, tables;

static void fill(char *p, int pass)
{
	unsigned long i;

	for (i = 0; i < tables; i++)
		memset(p + i * SZ_2M, VAL(pass, i), 4096);
}

static long empty(char *p)
{
	unsigned long i;
	long n = 0;

	for (i = 0; i < tables; i++) {
		if (i % 8 == 0)
			continue;
		if (madvise(p + i * SZ_2M, 4096, MADV_DONTNEED))
			pt_fail("MADV_DONTNEED: %s", strerror(errno));
		n++;
	}
	return n;
}

static void verify(char *p, int pass)
{
	unsigned long i, j;

	for (i = 0; i < tables; i++) {
		unsigned char v = i % 8 == 0 ? VAL(pass, i) : 0;

		for (j = 0; j < 4096; j += 32)
			if ((unsigned char)p[i * SZ_2M + j] != v)
				pt_fail("pass %d: table %lu byte %lu is %d, expected %d",
					pass, i, j, (unsigned char)p[i * SZ_2M + j], v);
	}
}

/* mremap p to a fresh aligned place; checks VmPTE; returns the new place. */
static char *move(char *p, long base_kb, const char *phase)
{
	long before = pt_vmpte_kb(), after, live = (tables + 7) / 8;
	char *dst = pt_map_aligned(size, PROT_NONE, PT_MAP_ANON, -1), *q;

	q = mremap(p, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	if (q == MAP_FAILED)
		pt_fail("mremap: %s", strerror(errno));
	if (q != dst)
		pt_fail("mremap moved to %p, not %p", (void *)q, (void *)dst);
	after = pt_vmpte_kb();
	pt_record(phase, 0, ",\"vmpte_before_kb\":%ld", before);
	if (after > before + 4 * pt_table_kb())
		pt_fail("%s: VmPTE grew from %ld to %ld kB", phase, before, after);
	if (after < base_kb + live * pt_table_kb())
		pt_fail("%s: VmPTE %ld kB cannot hold the %ld live tables", phase, after, live);
	return q;
}

int main(int argc, char **argv)
{
	struct pt_fin fin = { 0 }, fin2;
	long n_empty;
	char *p;

	if (pt_args(&fin, argc, argv, &size, NULL, "[--size-mb N] "))
		return 2;
	tables = size / SZ_2M;

	pt_begin(&fin, tables);

	/* Pass 1: reclaim, then move. */
	p = pt_map_anon(size);
	fill(p, 1);
	pt_populated(&fin, "populated", "");
	n_empty = empty(p);
	pt_emptied(&fin, "emptied", ",\"tables_emptied\":%ld", n_empty);
	pt_finish(&fin, p, size, n_empty, "");
	p = move(p, fin.base_kb, "moved");
	verify(p, 1);
	pt_record("verified", 0, "");

	/* Pass 2: move, then reclaim. */
	fin2 = fin;
	fill(p, 2);
	pt_populated(&fin2, "populated2", "");
	n_empty = empty(p);
	pt_emptied(&fin2, "emptied2", ",\"tables_emptied\":%ld", n_empty);
	p = move(p, fin.base_kb, "moved2");
	pt_finish(&fin2, p, size, n_empty, "2");
	verify(p, 2);
	pt_record("verified2", 0, "");
	return 0;
}
