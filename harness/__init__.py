"""pt-harness: build, boot and measure the empty PTE table reclaim series."""
