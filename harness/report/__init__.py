"""Reports: every one rebuilt from a run's raw JSON (report_data): JUnit,
report.html with its SVG charts, summary.txt and its blocks (scale,
neighbour, peer, per-patch), kcidb.json, the comparison of two runs and
the nightly's run history."""
