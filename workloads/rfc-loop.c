// SPDX-License-Identifier: GPL-2.0
/*
 * rfc-loop: the test of the RFC that started this work (Qi Zheng,
 * "asynchronously scan and free empty user PTE pages", 2024): map a large
 * anonymous area, then for each 2 MiB chunk in turn touch it and
 * MADV_DONTNEED it, so that the tables are emptied as they are made.
 *
 *   rfc-loop [--size-mb N] [--touch chunk|page] [--free chunk|page]
 *            [--reclaim | --wait-ms N [--wait-vmpte-kb K]]
 *
 * --touch chunk: write every page of the chunk, as the RFC does (512
 *                faults per chunk); page: the chunk's first page only;
 * --free chunk:  one MADV_DONTNEED of the whole chunk, as the RFC does
 *                (7.3's own reclaim in the zap path frees the table there);
 * --free page:   one 4 KiB MADV_DONTNEED per chunk, as an allocator
 *                purging an extent does (7.3 keeps the table).
 *
 * The area is MAP_NORESERVE (50 GB on a small guest) and MADV_NOHUGEPAGE,
 * and 2 MiB-aligned, as a THP kernel places a large anonymous mmap, so
 * that each chunk is one PTE table.
 *
 * Since the tables come and go inside the loop, VmPTE never shows all of
 * them at once: the `populated` record carries the peaks seen while the
 * loop ran (VmPTE and PageTables, read every PEAK_EVERY chunks) and
 * "tables_made", the chunks touched, one table each.  --wait-ms needs a
 * --wait-vmpte-kb target for the same reason.
 */
#include "ptfin.h"

#define USAGE "[--size-mb N] [--touch chunk|page] [--free chunk|page] "
#define PEAK_EVERY 64
/* ptlib.h's record format, with the peaks in place of the current values. */
#define PEAK_RECORD "PTREC {\"phase\":\"populated\",\"t_ms\":%.1f," \
	"\"vmpte_kb\":%ld,\"pagetables_kb\":%ld,\"peak\":true," \
	"\"tables_made\":%lu,\"loop_ms\":%.0f}\n"

struct peaks {
	long vmpte_kb;
	long pagetables_kb;
};

static void peaks_update(struct peaks *pk)
{
	long v = pt_vmpte_kb(), pt = pt_pagetables_kb();

	if (v > pk->vmpte_kb)
		pk->vmpte_kb = v;
	if (pt > pk->pagetables_kb)
		pk->pagetables_kb = pt;
}

static int is_chunk(const char *how)
{
	return !strcmp(how, "chunk");
}

int main(int argc, char **argv)
{
	unsigned long size = 51200UL << 20, chunks, c;
	const char *touch = "chunk", *how = "chunk";
	struct pt_fin fin = { 0 };
	struct peaks pk = { 0 };
	const struct pt_opt opts[] = {
		{ "--touch", PT_OPT_STR, &touch },
		{ "--free", PT_OPT_STR, &how },
		{ NULL },
	};
	double t_loop;
	char *p;

	if (pt_args(&fin, argc, argv, &size, opts, USAGE))
		return 2;
	if ((!is_chunk(touch) && strcmp(touch, "page")) ||
	    (!is_chunk(how) && strcmp(how, "page")))
		return pt_usage(argv[0], USAGE);
	if (fin.wait_ms && !fin.wait_vmpte_kb) {
		fprintf(stderr, "rfc-loop: --wait-ms needs --wait-vmpte-kb\n");
		return 2;
	}
	chunks = size / SZ_2M;

	pt_begin(&fin, chunks);
	p = pt_map_anon(size);

	t_loop = pt_now_ms();
	for (c = 0; c < chunks; c++) {
		char *chunk = p + c * SZ_2M;

		if (is_chunk(touch))
			memset(chunk, 1, SZ_2M);
		else
			chunk[0] = 1;
		if (madvise(chunk, is_chunk(how) ? SZ_2M : 4096, MADV_DONTNEED))
			pt_fail("MADV_DONTNEED at chunk %lu: %s", c, strerror(errno));
		if (c % PEAK_EVERY == PEAK_EVERY - 1)
			peaks_update(&pk);
	}
	peaks_update(&pk);
	printf(PEAK_RECORD, pt_now_ms() - pt_t0, pk.vmpte_kb, pk.pagetables_kb, chunks,
	       pt_now_ms() - t_loop);
	fin.pop_kb = pk.vmpte_kb;
	pt_emptied(&fin, "emptied", ",\"tables_emptied\":%lu", chunks);

	/* Nothing may touch the area before the final record (see sparse.c). */
	pt_finish(&fin, p, size, chunks, "");

	for (c = 0; c < chunks; c++)
		if (p[c * SZ_2M] != 0)
			pt_fail("chunk %lu not zero after MADV_DONTNEED%s", c,
				fin.reclaim || fin.wait_ms ? " and reclaim" : "");
	return 0;
}
