// SPDX-License-Identifier: GPL-2.0
/*
 * fork-cow: table reclaim in a child that shares its pages copy-on-write.
 *
 *   fork-cow [--size-mb N] [--reclaim | --wait-ms N]
 *
 * The parent writes a pattern into one page per 2 MiB of an anonymous area
 * (default 1024 MiB = 512 tables) and forks.  For table i, by i % 8:
 *   0     the child writes its own pattern (COW break);
 *   1, 2  the parent writes its own pattern; the child MADV_DONTNEEDs;
 *   3..6  the child MADV_DONTNEEDs (4 KiB each);
 *   7     nobody touches it.
 * The child then reclaims (optional) and checks: its pattern at 0, zero at
 * 1..6, the original at 7.  The parent checks: original at 0 and 3..7, its
 * own at 1, 2, and that the child exited 0.
 *
 * Records: `baseline` and `parent-populated` come from the parent;
 * `populated` (the child's copy of the tables), `emptied` and the final
 * record from the child (VmPTE is per mm: these are the child's tables);
 * `parent-verified` from the parent at the end.
 */
#include "ptfin.h"
#include <sys/wait.h>

#define ORIG(i)		((unsigned char)((i) * 7 + 1) | 1)
#define CHILD(i)	((unsigned char)((i) * 13 + 2) | 0x80)
#define PARENT(i)	((unsigned char)((i) * 5 + 3) | 0x40)

static char *p;
static unsigned long size = 1024UL << 20, tables;

static void expect(unsigned long i, unsigned char v, const char *who, const char *what)
{
	char *pg = p + i * SZ_2M;
	unsigned long j;

	for (j = 0; j < 4096; j += 64)
		if ((unsigned char)pg[j] != v)
			pt_fail("%s: table %lu byte %lu is %d, expected %s %d",
				who, i, j, (unsigned char)pg[j], what, v);
}

static int child(struct pt_fin *fin)
{
	unsigned long i, n_empty = 0;

	pt_populated(fin, "populated", ",\"proc\":\"child\"");
	for (i = 0; i < tables; i++)
		expect(i, ORIG(i), "child", "original");
	for (i = 0; i < tables; i++) {
		switch (i % 8) {
		case 0:
			memset(p + i * SZ_2M, CHILD(i), 4096);
			break;
		case 7:
			break;
		default:
			if (madvise(p + i * SZ_2M, 4096, MADV_DONTNEED))
				pt_fail("child: MADV_DONTNEED: %s", strerror(errno));
			n_empty++;
		}
	}
	pt_emptied(fin, "emptied", ",\"proc\":\"child\",\"tables_emptied\":%lu", n_empty);

	pt_finish(fin, p, size, n_empty, "");

	for (i = 0; i < tables; i++) {
		switch (i % 8) {
		case 0:
			expect(i, CHILD(i), "child", "own");
			break;
		case 7:
			expect(i, ORIG(i), "child", "original");
			break;
		default:
			expect(i, 0, "child", "zero");
		}
	}
	pt_record("child-verified", 0, ",\"proc\":\"child\"");
	return 0;
}

int main(int argc, char **argv)
{
	struct pt_fin fin = { 0 };
	unsigned long i;
	pid_t pid;
	int status;

	if (pt_args(&fin, argc, argv, &size, NULL, "[--size-mb N] "))
		return 2;
	tables = size / SZ_2M;

	pt_begin(&fin, tables);

	p = pt_map_anon(size);
	for (i = 0; i < tables; i++)
		memset(p + i * SZ_2M, ORIG(i), 4096);
	pt_record("parent-populated", 0, "");

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		pt_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		child(&fin);
		fflush(stdout);
		_exit(0);
	}

	for (i = 0; i < tables; i++)
		if (i % 8 == 1 || i % 8 == 2)
			memset(p + i * SZ_2M, PARENT(i), 4096);
	if (waitpid(pid, &status, 0) != pid)
		pt_fail("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		pt_fail("child failed (status 0x%x)", status);
	for (i = 0; i < tables; i++) {
		if (i % 8 == 1 || i % 8 == 2)
			expect(i, PARENT(i), "parent", "own");
		else
			expect(i, ORIG(i), "parent", "original");
	}
	pt_record("parent-verified", 0, "");
	return 0;
}
