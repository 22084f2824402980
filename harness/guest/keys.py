"""SSH keys made for one run: dropbear's host key and the client's key.

Nothing is shared between runs or kept in the repository. The host key's
public half is pinned in the client, so the harness talks only to the
guest it booted, even though the port is a local forward.
"""

import base64
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .. import proc
from ..proc import require

KEYGEN_TIMEOUT = 60.0


@dataclass(frozen=True)
class RunKeys:
    host_key_dropbear: bytes        # dropbear-format private host key
    host_public: paramiko.PKey      # its public half, pinned by the client
    client: paramiko.Ed25519Key     # the client's private key
    client_public_line: str         # authorized_keys line for the guest
    client_pem: str                 # the client key in OpenSSH format, for `ssh -i`


def make_keys() -> RunKeys:
    require("dropbearkey", "dropbear-bin")
    with tempfile.TemporaryDirectory(prefix="pt-harness-keys-") as d:
        host = Path(d) / "host_ed25519"
        # A failure here is the host's (StageFailed, exit 2), said in one line.
        proc.run(["dropbearkey", "-t", "ed25519", "-f", str(host)],
                 what="dropbearkey: the guest's host key", timeout=KEYGEN_TIMEOUT)
        pub = proc.run(["dropbearkey", "-y", "-f", str(host)],
                       what="dropbearkey: the host key's public half",
                       timeout=KEYGEN_TIMEOUT).stdout
        host_bytes = host.read_bytes()
    line = next(ln for ln in pub.splitlines() if ln.startswith("ssh-ed25519 "))
    host_public = paramiko.Ed25519Key(data=base64.b64decode(line.split()[1]))

    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    client = paramiko.Ed25519Key.from_private_key(io.StringIO(pem))
    client_line = f"{client.get_name()} {client.get_base64()} pt-harness-run"
    return RunKeys(host_bytes, host_public, client, client_line, pem)
