"""The kernel: its source (a Debian source package or a local tree), the
series applied on it, the configuration, the build (and W=1 on the files
a patch touches), and the build of the kernel's own mm selftests for the
peer suite."""
