"""The commands that drive the pipeline: `run` (every suite of every
(kernel, arch)), `nightly` (the series against tonight's base, patch by
patch), `plan`/`merge`/`--dry-run` (what a run will do, and CI cells
joined back into one run) and `shell` (one kernel booted for a person)."""
