"""One (kernel, arch) suite: its declared stages (stages, runner), the
data it runs (modes, catalog, findings, peer_plan), what runs in the booted
guest and its verdicts (workload_runner, figures, overhead,
alternate, neighbours, bench_records, selftest, ktap, peer, peer_verdict),
and the suites of one kernel side by side (fanout)."""
