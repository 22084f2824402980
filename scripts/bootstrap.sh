#!/bin/sh
# Idempotent set-up for a fresh Debian 12 machine: the Debian packages the
# harness drives (QEMU, cross compiler, kernel build deps), then a virtualenv
# with the harness installed editable. Safe to run again: it installs only
# what is missing, so `make test` and `make run` can both call it every time.
set -eu

cd "$(dirname "$0")/.."

PACKAGES="
qemu-system-x86 qemu-system-arm qemu-utils
gcc make libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu
flex bison bc libelf-dev libssl-dev ccache cpio rsync perl xz-utils git
python3-ply python3-git
dropbear-bin e2fsprogs debian-archive-keyring ca-certificates iproute2 procps
python3 python3-venv python3-pip
chromium
"

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo "bootstrap: installing Debian packages:$missing"
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi

VENV=.venv
if [ ! -x "$VENV/bin/python" ]; then
	echo "bootstrap: creating $VENV"
	python3 -m venv "$VENV"
fi
# Reinstall only when pyproject.toml changed since the last install.
if [ ! -f "$VENV/.installed" ] || [ pyproject.toml -nt "$VENV/.installed" ]; then
	echo "bootstrap: pip install -e .[test]"
	"$VENV/bin/pip" install -q --upgrade pip
	"$VENV/bin/pip" install -q -e ".[test]"
	touch "$VENV/.installed"
fi
