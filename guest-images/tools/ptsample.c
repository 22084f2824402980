// SPDX-License-Identifier: GPL-2.0
/*
 * ptsample: run a workload and sample page-table figures while it runs.
 *
 *   ptsample [--interval-ms N] [--out FILE] [--prctl enable|disable|default]
 *            -- PROGRAM [ARGS...]
 *
 * Forks PROGRAM (its stdout and stderr pass through untouched) and, every
 * N ms (default 20) until it exits, appends one JSON line to FILE (default
 * stderr):
 *   {"t_ms":12.0,"pagetables_kb":8400,"vmpte_kb":8236,"scanned":0,"freed":0}
 * scanned/freed are /proc/vmstat pt_reclaim_{scanned,freed} (-1 when the
 * kernel has no such counters). --prctl sets PR_SET_PT_RECLAIM in the
 * child before exec; the setting belongs to the mm, which exec replaces,
 * so the workload's mm gets it only if the kernel carries it across exec
 * (the series documents that it does), and the child reports the value
 * PR_GET_PT_RECLAIM returns after exec in its own records.
 *
 * The sampler lives in the guest image, not in the workloads, so every
 * workload is sampled the same way (it shares workloads/ptlib.h for
 * reading /proc). Exit status is the workload's.
 */
#include "../../workloads/ptlib.h"	/* first: it defines _GNU_SOURCE */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#ifndef PR_SET_PT_RECLAIM
#define PR_SET_PT_RECLAIM 82
#endif

int main(int argc, char **argv)
{
	long interval_ms = 20, prctl_val = -1;
	const char *out_path = NULL;
	char status_path[64];
	double t0;
	FILE *out = stderr;
	pid_t pid;
	int i, wstatus;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--interval-ms") && i + 1 < argc) {
			interval_ms = strtol(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			out_path = argv[++i];
		} else if (!strcmp(argv[i], "--prctl") && i + 1 < argc) {
			i++;
			prctl_val = !strcmp(argv[i], "default") ? 0 :
				    !strcmp(argv[i], "enable") ? 1 :
				    !strcmp(argv[i], "disable") ? 2 : -2;
			if (prctl_val == -2)
				goto usage;
		} else {
			goto usage;
		}
	}
	if (i + 1 >= argc || interval_ms <= 0)
		goto usage;
	if (out_path) {
		out = fopen(out_path, "w");
		if (!out) {
			perror(out_path);
			return 2;
		}
	}
	setvbuf(out, NULL, _IOLBF, 0);

	t0 = pt_now_ms();
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		if (prctl_val >= 0 && prctl(PR_SET_PT_RECLAIM, prctl_val, 0, 0, 0)) {
			fprintf(stderr, "ptsample: PR_SET_PT_RECLAIM: %s\n", strerror(errno));
			_exit(125);
		}
		execv(argv[i + 1], argv + i + 1);
		fprintf(stderr, "ptsample: exec %s: %s\n", argv[i + 1], strerror(errno));
		_exit(127);
	}
	snprintf(status_path, sizeof(status_path), "/proc/%d/status", pid);
	for (;;) {
		pid_t r = waitpid(pid, &wstatus, WNOHANG);

		if (r == pid)
			break;
		fprintf(out, "{\"t_ms\":%.1f,\"pagetables_kb\":%ld,\"vmpte_kb\":%ld,"
			"\"scanned\":%ld,\"freed\":%ld}\n", pt_now_ms() - t0,
			pt_read_key("/proc/meminfo", "PageTables", ':'),
			pt_read_key(status_path, "VmPTE", ':'),
			pt_read_key("/proc/vmstat", "pt_reclaim_scanned", ' '),
			pt_read_key("/proc/vmstat", "pt_reclaim_freed", ' '));
		usleep(interval_ms * 1000);
	}
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	fprintf(stderr, "ptsample: workload killed by signal %d\n", WTERMSIG(wstatus));
	return 128 + WTERMSIG(wstatus);
usage:
	fprintf(stderr, "usage: %s [--interval-ms N] [--out FILE] "
		"[--prctl enable|disable|default] -- PROGRAM [ARGS...]\n", argv[0]);
	return 2;
}
