/* SPDX-License-Identifier: GPL-2.0 */
/*
 * userfaultfd for the workloads that use it (uffd-wp, uffd-copy): the
 * syscall, user-mode-only when plain userfaultfd is refused (EPERM:
 * vm.unprivileged_userfaultfd, or a kernel that insists on it).
 */
#ifndef PTUFFD_H
#define PTUFFD_H

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline int uffd_open(void)
{
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 && errno == EPERM)
		fd = syscall(SYS_userfaultfd,
			     O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	return fd;
}

#endif /* PTUFFD_H */
