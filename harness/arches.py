"""Architectures as data, as kunit's qemu_configs and TuxMake do.

Everything that differs between x86-64 and arm64 lives in one frozen record;
code elsewhere never branches on the arch name.
"""

from dataclasses import dataclass

from .errors import BadInput


@dataclass(frozen=True)
class Arch:
    name: str                 # the harness's name, used on the command line
    kernel_arch: str          # ARCH= for kbuild
    cross_compile: str        # CROSS_COMPILE= prefix, "" for native
    kernel_image: str         # path of the bootable image inside O=
    make_target: str          # kbuild target that produces kernel_image
    config_fragment: str      # arch fragment in kernel-patches/configs/
    debian_arch: str          # Debian architecture of guest packages
    qemu_binary: str
    qemu_machine: tuple[str, ...]   # machine and CPU arguments
    console: str              # kernel console device
    kvm_host_machine: str     # `uname -m` on which KVM may be tried
    # Debian packages of the host: the compiler that provides `cc` (the
    # cross compiler for a foreign arch), QEMU, and everything the host
    # needs to build and boot this arch (scripts/bootstrap.sh installs them).
    cc_package: str
    qemu_package: str
    host_packages: tuple[str, ...]

    @property
    def cc(self) -> str:
        return f"{self.cross_compile}gcc"

    @property
    def packages(self) -> tuple[str, ...]:
        """Every host Debian package this arch needs, each once."""
        return tuple(dict.fromkeys((self.cc_package, self.qemu_package, *self.host_packages)))

    @property
    def readelf(self) -> str:
        return f"{self.cross_compile}readelf" if self.cross_compile else "readelf"


X86_64 = Arch(
    name="x86_64",
    kernel_arch="x86_64",
    cross_compile="",
    kernel_image="arch/x86/boot/bzImage",
    make_target="bzImage",
    config_fragment="x86_64.config",
    debian_arch="amd64",
    qemu_binary="qemu-system-x86_64",
    qemu_machine=("-machine", "q35", "-cpu", "max"),
    console="ttyS0",
    kvm_host_machine="x86_64",
    cc_package="gcc",
    qemu_package="qemu-system-x86",
    host_packages=("libc6-dev",),
)

ARM64 = Arch(
    name="arm64",
    kernel_arch="arm64",
    cross_compile="aarch64-linux-gnu-",
    kernel_image="arch/arm64/boot/Image",
    make_target="Image",
    config_fragment="arm64.config",
    debian_arch="arm64",
    qemu_binary="qemu-system-aarch64",
    # pauth-impdef: TCG emulates pointer auth far faster with the impdef algorithm.
    qemu_machine=("-machine", "virt", "-cpu", "max,pauth-impdef=on"),
    console="ttyAMA0",
    kvm_host_machine="aarch64",
    cc_package="gcc-aarch64-linux-gnu",
    qemu_package="qemu-system-arm",
    # The workloads and selftests link statically against the arch's libc;
    # readelf of the arch reads the guest binaries' DT_NEEDED.
    host_packages=("libc6-dev-arm64-cross", "binutils-aarch64-linux-gnu"),
)

ARCHES: dict[str, Arch] = {a.name: a for a in (X86_64, ARM64)}
DEFAULT_ARCHES: tuple[str, ...] = ("x86_64", "arm64")


def get_arch(name: str) -> Arch:
    try:
        return ARCHES[name]
    except KeyError:
        raise BadInput(f"unknown arch {name!r}; known: {', '.join(ARCHES)}") from None
