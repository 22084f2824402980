"""The kernel: its source (a Debian source package or a local tree), the
series applied on it, the configuration, the build (and W=1 on the files
a patch touches), and the build of its selftests (the series' kselftest
and the mm selftests of the peer suite)."""
