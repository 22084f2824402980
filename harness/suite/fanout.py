"""Suites of one kernel run side by side, one thread per suite.

The two arches of a developer's `check` share nothing but the cache (whose
writers take flock locks, which also exclude threads of one process: each
`locked()` opens its own file description) and the results directory
(each suite writes its own files; the run-wide files are written under
`save_lock`). A build is CPU-bound and a TCG guest mostly too, so on two
cores the gain is where one suite waits: SSH, the guest's own sleeps, the
image and report steps, a kernel that is already built.

An interrupt arrives in the main thread; it kills every child (proc.kill_all)
and sets proc.interrupted, which makes the suites' next spawn give up, so
the worker threads unwind in seconds and the pool can be joined.
"""

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

from .. import proc

save_lock = threading.Lock()


def run_all(tasks: Sequence[Callable[[], None]], jobs: int) -> None:
    """Run `tasks`, at most `jobs` at a time; the first exception (a bug,
    an interrupt) stops every child and is raised once all threads ended."""
    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            task()
        return
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="suite") as pool:
        futures = [pool.submit(task) for task in tasks]
        try:
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for f in done:
                f.result()
        except BaseException:
            proc.interrupted.set()
            for f in futures:
                f.cancel()
            proc.kill_all()
            raise
