// SPDX-License-Identifier: GPL-2.0
/*
 * uffd-wp: tables holding userfaultfd write-protect markers must survive
 * table reclaim, and the protection with them.
 *
 *   uffd-wp [--size-mb N] [--mode auto|anon|shmem] [--reclaim | --wait-ms N]
 *
 * An area (default 256 MiB = 128 tables) registered with userfaultfd in WP
 * mode gets one page per 2 MiB.  Every even table then holds a uffd-wp PTE
 * marker in an otherwise empty table, every odd table is plain empty:
 *   anon:  anonymous memory, UFFD_FEATURE_WP_UNPOPULATED: all pages are
 *          MADV_DONTNEEDed, then UFFDIO_WRITEPROTECT on the (now none)
 *          pages of the even tables installs markers;
 *   shmem: a memfd, UFFD_FEATURE_WP_HUGETLBFS_SHMEM: the even pages are
 *          write-protected, then every page is MADV_DONTNEEDed, which
 *          leaves markers where the PTEs were protected.
 * auto picks anon if the kernel has WP_UNPOPULATED, else shmem.  After the
 * optional reclaim step VmPTE must still hold every marked table, and a
 * write to each page must raise exactly one WP fault on marked pages (a
 * handler thread resolves it by clearing the protection) and none on the
 * others.  Without userfaultfd or WP support: a `skipped` record, exit 0.
 */
#include "ptfin.h"
#include "ptuffd.h"
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#define USAGE "[--size-mb N] [--mode auto|anon|shmem] "

#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

static int uffd;
static volatile int stop;
static unsigned long wp_faults, other_faults;
static char *area;
static unsigned long size = 256UL << 20, tables;

static void skipped(const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	pt_record("skipped", 0, ",\"why\":\"%s\"", why);
	exit(0);
}

static void *handler_main(void *arg)
{
	struct pollfd pfd = { .events = POLLIN };
	struct uffd_msg msg;

	(void)arg;
	pfd.fd = uffd;
	while (!stop) {
		int n = poll(&pfd, 1, 20);

		if (n < 0 && errno != EINTR)
			pt_fail("poll uffd: %s", strerror(errno));
		if (n <= 0)
			continue;
		n = read(uffd, &msg, sizeof(msg));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n != sizeof(msg))
			pt_fail("read uffd: %s", n < 0 ? strerror(errno) : "short");
		if (msg.event != UFFD_EVENT_PAGEFAULT) {
			__atomic_add_fetch(&other_faults, 1, __ATOMIC_SEQ_CST);
			continue;
		}
		if (msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) {
			struct uffdio_writeprotect wp = {
				.range.start = msg.arg.pagefault.address & ~4095ULL,
				.range.len = 4096,
				.mode = 0,	/* clear protection, wake */
			};

			__atomic_add_fetch(&wp_faults, 1, __ATOMIC_SEQ_CST);
			if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp))
				pt_fail("UFFDIO_WRITEPROTECT clear: %s", strerror(errno));
		} else {
			/* Not registered for MISSING: must not happen. */
			__atomic_add_fetch(&other_faults, 1, __ATOMIC_SEQ_CST);
			pt_fail("unexpected missing fault at %llx",
				(unsigned long long)msg.arg.pagefault.address);
		}
	}
	return NULL;
}

static void protect(char *pg)
{
	struct uffdio_writeprotect wp = {
		.range.start = (unsigned long)pg,
		.range.len = 4096,
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp))
		pt_fail("UFFDIO_WRITEPROTECT at %p: %s", (void *)pg, strerror(errno));
}

static unsigned char orig(unsigned long i)
{
	return (unsigned char)(i * 3 + 5) | 1;
}

int main(int argc, char **argv)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { 0 };
	struct pt_fin fin = { 0 };
	const char *mode = "auto";
	unsigned long i, marked = 0, n_empty = 0;
	unsigned long long avail, want;
	const struct pt_opt opts[] = {
		{ "--mode", PT_OPT_STR, &mode },
		{ NULL },
	};
	int anon, memfd = -1;
	pthread_t ht;
	long now;

	if (pt_args(&fin, argc, argv, &size, opts, USAGE))
		return 2;
	if (strcmp(mode, "auto") && strcmp(mode, "anon") && strcmp(mode, "shmem"))
		return pt_usage(argv[0], USAGE);
	tables = size / SZ_2M;

	pt_begin(&fin, tables);

	/* Probe the features, then open the real one with what we use. */
	uffd = uffd_open();
	if (uffd < 0)
		skipped("userfaultfd: %s", strerror(errno));
	if (ioctl(uffd, UFFDIO_API, &api))
		skipped("UFFDIO_API: %s", strerror(errno));
	avail = api.features;
	close(uffd);
	if (!(avail & UFFD_FEATURE_PAGEFAULT_FLAG_WP))
		skipped("no UFFD_FEATURE_PAGEFAULT_FLAG_WP (features 0x%llx)", avail);
	if (!strcmp(mode, "auto"))
		mode = avail & UFFD_FEATURE_WP_UNPOPULATED ? "anon" : "shmem";
	anon = !strcmp(mode, "anon");
	want = UFFD_FEATURE_PAGEFAULT_FLAG_WP |
	       (anon ? UFFD_FEATURE_WP_UNPOPULATED : UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
	if ((avail & want) != want)
		skipped("mode %s needs features 0x%llx, kernel has 0x%llx", mode, want, avail);
	uffd = uffd_open();
	if (uffd < 0)
		skipped("userfaultfd: %s", strerror(errno));
	api.api = UFFD_API;
	api.features = want;
	if (ioctl(uffd, UFFDIO_API, &api))
		skipped("UFFDIO_API with 0x%llx: %s", want, strerror(errno));

	if (anon)
		area = pt_map_anon(size);
	else
		area = pt_map_memfd("pt-uffd-wp", size, &memfd);

	reg.range.start = (unsigned long)area;
	reg.range.len = size;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		skipped("UFFDIO_REGISTER WP (%s): %s", mode, strerror(errno));
	if (!(reg.ioctls & (1ULL << _UFFDIO_WRITEPROTECT)))
		skipped("no UFFDIO_WRITEPROTECT for %s memory", mode);
	if (pthread_create(&ht, NULL, handler_main, NULL))
		pt_fail("pthread_create");

	for (i = 0; i < tables; i++)
		memset(area + i * SZ_2M, orig(i), 4096);
	pt_populated(&fin, "populated", ",\"mode\":\"%s\"", mode);

	if (!anon)
		for (i = 0; i < tables; i += 2)
			protect(area + i * SZ_2M);
	pt_dontneed_tables(area, size);
	if (anon)
		for (i = 0; i < tables; i += 2)
			protect(area + i * SZ_2M);
	for (i = 0; i < tables; i++) {
		if (i % 2 == 0)
			marked++;
		else
			n_empty++;
	}
	pt_emptied(&fin, "emptied",
		   ",\"mode\":\"%s\",\"marked_tables\":%lu,\"empty_tables\":%lu",
		   mode, marked, n_empty);

	pt_finish(&fin, area, size, n_empty, "");
	now = pt_vmpte_kb();
	if (now < fin.base_kb + (long)marked * pt_table_kb())
		pt_fail("VmPTE %ld kB after reclaim: tables with uffd-wp markers were freed (baseline %ld kB, %lu marked)",
			now, fin.base_kb, marked);

	/* Every marked page must fault once on write; the others never. */
	for (i = 0; i < tables; i++) {
		volatile char *pg = area + i * SZ_2M;
		unsigned char want_old = anon ? 0 : orig(i);
		unsigned long before = __atomic_load_n(&wp_faults, __ATOMIC_SEQ_CST), got;

		if ((unsigned char)pg[0] != want_old)
			pt_fail("table %lu reads %d before the write, expected %d",
				i, (unsigned char)pg[0], want_old);
		pg[0] = (char)(orig(i) ^ 0xff);
		pg[4095] = (char)(orig(i) ^ 0xff);
		got = __atomic_load_n(&wp_faults, __ATOMIC_SEQ_CST) - before;
		if (i % 2 == 0 && got != 1)
			pt_fail("write to marked table %lu raised %lu WP faults, expected 1", i, got);
		if (i % 2 == 1 && got != 0)
			pt_fail("write to unmarked table %lu raised %lu WP faults", i, got);
		if ((unsigned char)pg[0] != (unsigned char)(orig(i) ^ 0xff) ||
		    (unsigned char)pg[4095] != (unsigned char)(orig(i) ^ 0xff) ||
		    (unsigned char)pg[100] != want_old)
			pt_fail("table %lu reads wrong after the write", i);
	}
	stop = 1;
	pthread_join(ht, NULL);
	if (other_faults)
		pt_fail("%lu unexpected userfaultfd events", other_faults);
	pt_record("verified", 0, ",\"wp_faults\":%lu", wp_faults);
	return 0;
}
