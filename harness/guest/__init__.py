"""The guest: its initramfs (image, cpio, and guest_programs: the static
programs in it), the QEMU VM (vm), booting a built kernel with them (boot),
the run's SSH keys and session (keys, guest), an interactive terminal over
it (terminal) and the console log's splats (console)."""
