// SPDX-License-Identifier: GPL-2.0
/*
 * uffd-copy: UFFDIO_COPY into PTE tables that were just emptied, with the
 * scanner racing to free them.  A --size-mb (default 512 MiB) area is
 * registered with userfaultfd in MISSING mode; one UFFDIO_COPY per 2 MiB
 * makes every table, then for --seconds, round after round: one 4 KiB
 * MADV_DONTNEED per table (the tables are empty but still there), then one
 * UFFDIO_COPY per table again.  A thread spinning in user space on the
 * other CPU gives the tick somewhere to queue scanner passes, so they run
 * beside the copies.
 *
 * A table that vanishes between mfill's pte_alloc() and its
 * pte_offset_map_lock() makes UFFDIO_COPY fail with EAGAIN (or EEXIST
 * from mfill_establish_pmd()) although nothing is mapped there: a
 * userfaultfd manager (a VM's post-copy migration, say) would see a page
 * it must copy again, or one it thinks is already there.  The workload
 * counts such returns where /proc/self/pagemap shows the page not present
 * ("spurious_eagain", "spurious_eexist"), retries them, and fails itself
 * only if the page still cannot be copied or reads wrong after a copy.
 *
 *   uffd-copy [--size-mb N] [--seconds S]
 *
 * Records: `populated`, then `result` with "rounds", "copies", the
 * spurious counts, "eexist_present" (EEXIST over a present page: the
 * DONTNEED did not empty it), "cpus" (copier and spinner) and a `scanner`
 * record.  Without userfaultfd: a `skipped` record, exit 0.
 */
#include "ptbench.h"
#include "ptuffd.h"
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#define USAGE "[--size-mb N] [--seconds S]"
#define RETRIES 10

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

static volatile int stop;
static unsigned long cpus;	/* copier and spinner, both write it */
static int uffd, pagemap;
static char *src;

static void skipped(const char *why, int err)
{
	pt_record("skipped", 0, ",\"why\":\"%s: %s\"", why, strerror(err));
	exit(0);
}

static void *spinner_main(void *arg)
{
	unsigned long n = 0, mine = 0;

	(void)arg;
	while (!stop)
		if ((++n & 0xfffff) == 0)
			pt_cpu_seen(&mine);
	pt_cpu_seen(&mine);
	__atomic_or_fetch(&cpus, mine, __ATOMIC_SEQ_CST);
	return NULL;
}

static int present(char *pg)
{
	uint64_t ent;
	off_t off = (off_t)((uintptr_t)pg / 4096) * sizeof(ent);

	if (pread(pagemap, &ent, sizeof(ent), off) != sizeof(ent))
		pt_fail("pread /proc/self/pagemap: %s", strerror(errno));
	return !!(ent & (1ULL << 63));
}

/* 0 copied; else the errno of UFFDIO_COPY. */
static int copy_page(char *dst)
{
	struct uffdio_copy c = {
		.dst = (unsigned long)dst,
		.src = (unsigned long)src,
		.len = 4096,
	};

	if (ioctl(uffd, UFFDIO_COPY, &c) == 0 && c.copy == 4096)
		return 0;
	return c.copy < 0 ? (int)-c.copy : errno;
}

int main(int argc, char **argv)
{
	unsigned long size_mb = 512, seconds = 3, tables, t, rounds = 0, copies = 0;
	unsigned long spurious_eagain = 0, spurious_eexist = 0, eexist_present = 0;
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { 0 };
	struct pt_fin fin = { 0 };
	const struct pt_opt opts[] = {
		{ "--size-mb", PT_OPT_ULONG, &size_mb },
		{ "--seconds", PT_OPT_ULONG, &seconds },
		{ NULL },
	};
	struct pt_scan_mark mark;
	char list[200], *area;
	double end;
	pthread_t st;
	size_t size;

	if (pt_args(&fin, argc, argv, NULL, opts, USAGE) || fin.reclaim || fin.wait_ms)
		return pt_usage(argv[0], USAGE);
	size = size_mb << 20;
	if (!size || size % SZ_2M || !seconds)
		return pt_usage(argv[0], USAGE);
	tables = size / SZ_2M;

	pt_start();
	uffd = uffd_open();
	if (uffd < 0)
		skipped("userfaultfd", errno);
	if (ioctl(uffd, UFFDIO_API, &api))
		skipped("UFFDIO_API", errno);
	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap < 0)
		pt_fail("open /proc/self/pagemap: %s", strerror(errno));
	src = pt_map_anon(SZ_2M);
	memset(src, 0x5a, 4096);
	area = pt_map_anon(size);
	reg.range.start = (unsigned long)area;
	reg.range.len = size;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		skipped("UFFDIO_REGISTER MISSING", errno);

	for (t = 0; t < tables; t++)
		if (copy_page(area + t * SZ_2M))
			pt_fail("first UFFDIO_COPY into table %lu: %s", t, strerror(errno));
	pt_record("populated", 0, ",\"tables\":%lu", tables);

	if (pthread_create(&st, NULL, spinner_main, NULL))
		pt_fail("pthread_create");
	mark = pt_scan_mark();
	end = pt_now_ms() + seconds * 1000.0;
	while (pt_now_ms() < end) {
		pt_dontneed_tables(area, size);
		for (t = 0; t < tables; t++) {
			char *pg = area + t * SZ_2M;
			int err, tries;

			for (tries = 0; (err = copy_page(pg)) && tries < RETRIES; tries++) {
				if ((err != EAGAIN && err != EEXIST) || present(pg)) {
					if (err == EEXIST)
						eexist_present++;
					break;
				}
				if (err == EAGAIN)
					spurious_eagain++;
				else
					spurious_eexist++;
			}
			if (err && !(err == EEXIST && present(pg)))
				pt_fail("UFFDIO_COPY into table %lu: %s (after %d tries)",
					t, strerror(err), tries + 1);
			if (!present(pg) || pg[4095] != 0x5a)
				pt_fail("table %lu: copied page not present or wrong", t);
			copies++;
		}
		rounds++;
		pt_cpu_seen(&cpus);
	}
	stop = 1;
	pthread_join(st, NULL);
	pt_record("result", 0,
		  ",\"rounds\":%lu,\"copies\":%lu,\"spurious_eagain\":%lu,"
		  "\"spurious_eexist\":%lu,\"eexist_present\":%lu,\"cpus\":\"%s\"",
		  rounds, copies, spurious_eagain, spurious_eexist, eexist_present,
		  pt_cpu_list(cpus, list, sizeof(list)));
	pt_scanner_record(mark);
	return 0;
}
