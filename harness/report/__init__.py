"""Reports: every one rebuilt from a run's raw JSON (run_data) by render:
JUnit (junit), report.html with its SVG charts (svgchart), summary.txt
(summary_text) and its blocks (scale, neighbours, peer, patches),
kcidb.json (kcidb), the comparison of two runs (compare) and the
nightly's run history (history)."""
