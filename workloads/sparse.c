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
	char *p;
	int i;

	for (i = 1; i < argc; i++) {
		if (pt_fin_arg(&fin, argc, argv, &i))
			continue;
		if (!strcmp(argv[i], "--size-mb") && i + 1 < argc) {
			size = strtoul(argv[++i], NULL, 0) << 20;
		} else if (!strcmp(argv[i], "--free") && i + 1 < argc) {
			how = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [--size-mb N] [--free whole|small] %s\n",
				argv[0], PT_FIN_USAGE);
			return 2;
		}
	}
	if (pt_fin_check(&fin, argv[0]))
		return 2;
	if ((strcmp(how, "whole") && strcmp(how, "small")) || !size || size % SZ_2M) {
		fprintf(stderr, "sparse: --free takes whole or small; --size-mb a multiple of 2\n");
		return 2;
	}
	tables = size / SZ_2M;

	pt_start();
	pt_record("baseline", 1, ",\"tables\":%lu", tables);
	fin.base_kb = pt_vmpte_kb();

	/* Over-map by 2 MiB so the area can start on a PMD boundary. */
	p = mmap(NULL, size + SZ_2M, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		pt_fail("mmap %lu MiB: %s", size >> 20, strerror(errno));
	p = (char *)(((unsigned long)p + SZ_2M - 1) & ~(SZ_2M - 1));
	/* One 4 KiB page per table, never a THP: the point is PTE tables. */
	madvise(p, size, MADV_NOHUGEPAGE);

	for (off = 0; off < size; off += SZ_2M)
		p[off] = 1;
	pt_record("populated", 0, "");
	fin.pop_kb = pt_vmpte_kb();

	if (!strcmp(how, "whole")) {
		if (madvise(p, size, MADV_DONTNEED))
			pt_fail("MADV_DONTNEED: %s", strerror(errno));
	} else {
		for (off = 0; off < size; off += SZ_2M)
			if (madvise(p + off, 4096, MADV_DONTNEED))
				pt_fail("MADV_DONTNEED at %lu: %s", off, strerror(errno));
	}
	fin.t_emptied = pt_now_ms();
	pt_record("emptied", 1, ",\"tables_emptied\":%lu", tables);

	for (off = 0; off < size; off += SZ_2M)
		if (p[off] != 0)
			pt_fail("page at offset %lu not zero after MADV_DONTNEED", off);

	pt_finish(&fin, p, size, tables, "");

	/* Memory touched again after reclaim faults in as zero-fill. */
	for (off = 0; off < size; off += SZ_2M) {
		if (p[off] != 0)
			pt_fail("page at offset %lu not zero after reclaim", off);
		p[off] = 2;
	}
	return 0;
}
