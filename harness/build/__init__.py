"""Build: the kernel source, the series applied on it, the configuration,
the kernel (and W=1 on the files a patch touches), the peer suite's
selftests and the static guest programs."""
