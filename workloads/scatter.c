// SPDX-License-Identifier: GPL-2.0
/*
 * scatter: a few dozen PTE tables scattered over a huge sparse area, as a
 * process with terabytes of reserved address space (a JIT heap, a
 * database's arenas) has them.  Touches one page in each of --tables 2 MiB
 * chunks spread over the whole area, empties each with one 4 KiB
 * MADV_DONTNEED and records what page-table memory does.  A scanner whose
 * budget counts address space walks the empty terabytes between the
 * tables; one that counts tables does not.
 *
 *   scatter [--size-mb N] [--tables N] [--reclaim | --wait-ms N]
 *
 * The area is MAP_NORESERVE and MADV_NOHUGEPAGE.  Chunk i lies in the i-th
 * of --tables equal strides, at a different offset in each stride, so the
 * tables do not all sit at the same place under their PMD and PUD tables.
 * VmPTE counts those upper tables too (one PMD table per touched GiB, one
 * PUD table per 512 GiB): they stay, so only the PTE tables are "emptied".
 */
#include "ptfin.h"

#define USAGE "[--size-mb N] [--tables N] "

/* Offset of chunk i: in stride i, at a chunk index that differs per stride. */
static size_t chunk_offset(unsigned long i, size_t stride)
{
	return i * stride + (i * 131 % (stride / SZ_2M)) * SZ_2M;
}

int main(int argc, char **argv)
{
	unsigned long size = 16UL << 40, ntables = 48, i;
	struct pt_fin fin = { 0 };
	const struct pt_opt opts[] = {
		{ "--tables", PT_OPT_ULONG, &ntables },
		{ NULL },
	};
	size_t stride;
	char *p;

	if (pt_args(&fin, argc, argv, &size, opts, USAGE))
		return 2;
	if (!ntables || size / ntables < SZ_2M)
		return pt_usage(argv[0], USAGE);
	stride = size / ntables & ~(SZ_2M - 1);

	pt_begin(&fin, ntables);
	p = pt_map_anon(size);

	for (i = 0; i < ntables; i++)
		p[chunk_offset(i, stride)] = 1;
	pt_populated(&fin, "populated", ",\"size_mb\":%lu", size >> 20);

	for (i = 0; i < ntables; i++)
		if (madvise(p + chunk_offset(i, stride), 4096, MADV_DONTNEED))
			pt_fail("MADV_DONTNEED of chunk %lu: %s", i, strerror(errno));
	pt_emptied(&fin, "emptied", ",\"tables_emptied\":%lu", ntables);

	/* Nothing may touch the area before the final record (see sparse.c). */
	pt_finish(&fin, p, size, ntables, "");

	for (i = 0; i < ntables; i++)
		if (p[chunk_offset(i, stride)] != 0)
			pt_fail("chunk %lu not zero after MADV_DONTNEED%s", i,
				fin.reclaim || fin.wait_ms ? " and reclaim" : "");
	return 0;
}
