// SPDX-License-Identifier: GPL-2.0
/*
 * file-pageout: PTE tables emptied by dropping clean file pages.
 *
 *   file-pageout [--dir D] [--size-mb N] [--keep] [--reclaim | --wait-ms N]
 *
 * Writes one page per 2 MiB of a sparse file in D (default /mnt/data),
 * fsyncs it, maps it read-only MAP_SHARED at a 2 MiB-aligned address and
 * reads one byte per 2 MiB (one PTE table each).  Then empties the tables
 * with MADV_PAGEOUT (clean page-cache pages without swap are unmapped and
 * dropped).  If RssFile shows that did not unmap them, falls back to
 * POSIX_FADV_DONTNEED + drop_caches, and last to one 4 KiB MADV_DONTNEED
 * per table; the `emptied` record names the method that worked.  After the
 * optional reclaim step every byte is read back and checked.  The file is
 * removed at exit unless --keep.
 */
#include "ptfin.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>

static char path[4096];
static int keep;

static void cleanup(void)
{
	if (!keep && path[0])
		unlink(path);
}

static unsigned char val_at(unsigned long idx)
{
	return (unsigned char)(idx * 37 + 11) | 1;	/* never zero */
}

static long rss_file_kb(void)
{
	return pt_read_kb("/proc/self/status", "RssFile");
}

int main(int argc, char **argv)
{
	unsigned long size = 1024UL << 20, off, tables;
	const char *dir = "/mnt/data", *method = NULL;
	struct pt_fin fin = { 0 };
	long rss_base, rss_pop, rss_now, kept_kb;
	const struct pt_opt opts[] = {
		{ "--dir", PT_OPT_STR, &dir },
		{ "--keep", PT_OPT_FLAG, &keep },
		{ NULL },
	};
	char *page, *p;
	volatile char sink;
	struct statfs sfs;
	int fd;

	if (pt_args(&fin, argc, argv, &size, opts, "[--dir D] [--size-mb N] [--keep] "))
		return 2;
	tables = size / SZ_2M;

	pt_start();
	if (statfs(dir, &sfs))
		pt_fail("statfs %s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/pt-file-pageout.dat", dir);
	atexit(cleanup);
	rss_base = rss_file_kb();
	pt_baseline(&fin, ",\"tables\":%lu,\"fs_magic\":\"0x%lx\"",
		    tables, (unsigned long)sfs.f_type);

	fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0)
		pt_fail("open %s: %s", path, strerror(errno));
	if (ftruncate(fd, 0) || ftruncate(fd, size))
		pt_fail("ftruncate %s: %s", path, strerror(errno));
	page = malloc(4096);
	if (!page)
		pt_fail("malloc");
	for (off = 0; off < size; off += SZ_2M) {
		memset(page, val_at(off / SZ_2M), 4096);
		if (pwrite(fd, page, 4096, off) != 4096)
			pt_fail("pwrite at %lu: %s", off, strerror(errno));
	}
	if (fsync(fd))
		pt_fail("fsync: %s", strerror(errno));

	p = pt_map_aligned(size, PROT_READ, MAP_SHARED, fd);
	madvise(p, size, MADV_NOHUGEPAGE);
	madvise(p, size, MADV_RANDOM);	/* no read-around beyond the page */

	for (off = 0; off < size; off += SZ_2M)
		if (p[off] != (char)val_at(off / SZ_2M))
			pt_fail("byte at %lu wrong after write", off);
	rss_pop = rss_file_kb();
	pt_populated(&fin, "populated", ",\"rss_file_kb\":%ld", rss_pop);

	/* Unmapped when RssFile is back within 1% (+64 kB) of its baseline. */
#define UNMAPPED() (rss_now = rss_file_kb(), \
		    rss_now <= rss_base + (rss_pop - rss_base) / 100 + 64)
	if (madvise(p, size, MADV_PAGEOUT))
		pt_fail("MADV_PAGEOUT: %s", strerror(errno));
	if (UNMAPPED()) {
		method = "pageout";
	} else {
		int dc, dc_ok = 0;

		posix_fadvise(fd, 0, size, POSIX_FADV_DONTNEED);
		sync();
		dc = open("/proc/sys/vm/drop_caches", O_WRONLY);
		if (dc >= 0) {
			/* Not root: the next fallback copes. */
			dc_ok = write(dc, "1", 1) == 1;
			close(dc);
		}
		if (dc_ok && UNMAPPED())
			method = "fadvise+drop_caches";
	}
	if (!method) {
		pt_dontneed_tables(p, size);
		if (!UNMAPPED())
			pt_fail("file pages still mapped: RssFile %ld kB", rss_now);
		method = "dontneed-small";
	}
	kept_kb = pt_vmpte_kb();
	pt_emptied(&fin, "emptied",
		   ",\"method\":\"%s\",\"rss_file_kb\":%ld,\"tables_kept\":%s",
		   method, rss_now,
		   kept_kb >= fin.pop_kb - (fin.pop_kb - fin.base_kb) / 100 ?
		   "true" : "false");

	pt_finish(&fin, p, size, tables, "");

	for (off = 0; off < size; off += SZ_2M)
		if (p[off] != (char)val_at(off / SZ_2M))
			pt_fail("byte at %lu wrong after read back", off);
	/* The rest of each page too, and a hole next to it reads zero. */
	for (off = 0; off < size; off += 64 * SZ_2M) {
		unsigned long j;

		for (j = 0; j < 4096; j++)
			if (p[off + j] != (char)val_at(off / SZ_2M))
				pt_fail("byte at %lu wrong after read back", off + j);
		sink = p[off + 8192];
		if (sink)
			pt_fail("hole at %lu not zero", off + 8192);
	}
	pt_record("verified", 0, "");
	munmap(p, size);
	close(fd);
	return 0;
}
