"""pt-harness: build, boot and measure the empty PTE table reclaim series.

The package by pipeline stage: kernel/ (source, series, config, build),
guest/ (guest programs, initramfs, QEMU, SSH), suite/ (one
(kernel, arch) suite as declared stages, and what runs in the guest),
report/ (every report, rebuilt from a run's raw JSON), commands/ (the
`run`, `nightly`, `plan` and `shell` commands). What every stage uses
stands here: the CLI, errors and exit codes, the host-command runner,
progress lines, arches, data schemas, the cache, the results directory
and the reproducer record.
"""

from pathlib import Path

# The repository this package is part of (workloads/, guest-images/,
# kernel-patches/ beside it).
REPO_ROOT = Path(__file__).resolve().parent.parent
