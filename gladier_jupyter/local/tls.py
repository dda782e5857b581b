"""The local service's TLS identity: a certificate made afresh at each start, pinned by clients.

Another user of a shared node can bind the service's port the moment it frees (after an
idle exit, a crash, a ``kill -9``). A client that still holds the old URL would then send
its bearer secret to that user. So the service speaks HTTPS with a self-signed certificate
whose key lives only in the private state folder (0600 in 0700), and every client verifies
the server against that one certificate before it sends a byte of a request: a socket held
by anyone else fails the TLS handshake, and nothing is sent.

Files in the state folder:

- ``tls-key.pem`` (0600): the private key (EC P-256), made at each start;
- ``tls-cert.pem`` (0600): its certificate, for ``127.0.0.1`` and ``localhost``; the pin of
  the service's own clients (``ServiceInfo.ca_file``);
- ``ca-bundle.pem`` (0600): the system's CA certificates plus that certificate, for plain
  globus-sdk clients in a local-mode kernel (``GLOBUS_SDK_VERIFY_SSL``): they keep verifying
  the real Globus services, and verify the local service by its certificate.

``cryptography`` is already a dependency of globus-sdk (token decoding), so this costs no new
package.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import pathlib
import ssl

__all__ = ["CERT_FILE", "KEY_FILE", "BUNDLE_FILE", "client_context", "make_identity", "server_context", "write_bundle"]

CERT_FILE = "tls-cert.pem"
KEY_FILE = "tls-key.pem"
BUNDLE_FILE = "ca-bundle.pem"
_NAME = "gladier-jupyter local service"


def _write_private(path: pathlib.Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def make_identity(state_dir: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """Make a new key and certificate in ``state_dir``; their paths ``(cert, key)``.

    The key is written before the certificate: a client that reads the certificate of a
    service still starting fails to verify until the service listens with that key.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _NAME)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = state_dir / KEY_FILE, state_dir / CERT_FILE
    _write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def server_context(state_dir: pathlib.Path) -> ssl.SSLContext:
    """The server side: the folder's current key and certificate, TLS 1.2 or newer."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(state_dir / CERT_FILE, state_dir / KEY_FILE)
    return ctx


def client_context(cert_file: os.PathLike[str] | str) -> ssl.SSLContext:
    """A client context that trusts the one certificate ``cert_file`` and nothing else."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(cafile=os.fspath(cert_file))
    return ctx


def _system_cas() -> bytes:
    # What requests would have used: $REQUESTS_CA_BUNDLE / $SSL_CERT_FILE if the user set
    # one (a facility's proxy CA), else certifi's bundle.
    for var in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = os.environ.get(var)
        if value and os.path.isfile(value):
            return pathlib.Path(value).read_bytes()
    import certifi

    return pathlib.Path(certifi.where()).read_bytes()


def write_bundle(state_dir: pathlib.Path) -> pathlib.Path:
    """Write ``ca-bundle.pem`` (system CAs + the service's certificate); its path."""
    path = state_dir / BUNDLE_FILE
    cert = (state_dir / CERT_FILE).read_bytes()
    system = _system_cas()
    _write_private(path, system.rstrip(b"\n") + b"\n" + cert)
    return path
