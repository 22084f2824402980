// SPDX-License-Identifier: GPL-2.0
/*
 * sparse: map a large anonymous area, touch one page per 2 MiB so that each
 * touched page costs one PTE table, then empty the tables and record what
 * page-table memory does.
 *
 *   sparse [--size-mb N] [--free whole|small] [--reclaim | --wait-ms N]
 *
 * --free whole: one MADV_DONTNEED over the whole area (upstream 7.3 frees
 *               the tables in that path);
 * --free small: one 4 KiB MADV_DONTNEED per table, as an allocator purging
 *               small extents does (7.3 keeps every table);
 * --reclaim, --wait-ms: see ptfin.h.
 */
#include "ptfin.h"

int main(int argc, char **argv)
{
	unsigned long size = 4096UL << 20, off, tables;
	const char *how = "whole";
	struct pt_fin fin = { 0 };
	const struct pt_opt opts[] = {
		{ "--free", PT_OPT_STR, &how },
		{ NULL },
	};
	char *p;

	if (pt_args(&fin, argc, argv, &size, opts, "[--size-mb N] [--free whole|small] "))
		return 2;
	if (strcmp(how, "whole") && strcmp(how, "small")) {
		fprintf(stderr, "sparse: --free takes whole or small; --size-mb a multiple of 2\n");
		return 2;
	}
	tables = size / SZ_2M;

	pt_begin(&fin, tables);

	/* One 4 KiB page per table, never a THP: the point is PTE tables. */
	p = pt_map_anon(size);

	for (off = 0; off < size; off += SZ_2M)
		p[off] = 1;
	pt_populated(&fin, "populated", "");

	if (!strcmp(how, "whole")) {
		if (madvise(p, size, MADV_DONTNEED))
			pt_fail("MADV_DONTNEED: %s", strerror(errno));
	} else {
		pt_dontneed_tables(p, size);
	}
	pt_emptied(&fin, "emptied", ",\"tables_emptied\":%lu", tables);

	/*
	 * Nothing may touch the area before the final record: even a read
	 * faults in the zero page, and with it a PTE table that is no longer
	 * empty, which would hide the tables freed from the figures.
	 */
	pt_finish(&fin, p, size, tables, "");

	/* Memory touched again after emptying and reclaim faults in as zero-fill. */
	for (off = 0; off < size; off += SZ_2M) {
		if (p[off] != 0)
			pt_fail("page at offset %lu not zero after MADV_DONTNEED%s", off,
				fin.reclaim || fin.wait_ms ? " and reclaim" : "");
		p[off] = 2;
	}
	return 0;
}
