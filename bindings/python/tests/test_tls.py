"""TLS and mutual TLS against a real server, with certificates made at test time."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Iterator, Tuple

import pytest

import kimberlite
from kimberlite import TLS, Client, ConnectionFailed, DataClass, TLSError

from procs import Server, binary


def make_certs(path: Path) -> Path:
    subprocess.run([binary(), "certs", "--dir", str(path)], check=True, stdout=subprocess.DEVNULL)
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Path]:
    """(the server's CA folder, another CA's folder)."""
    return make_certs(tmp_path_factory.mktemp("pki")), make_certs(tmp_path_factory.mktemp("other"))


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, pki: Tuple[Path, Path]) -> Iterator[Server]:
    d = pki[0]
    s = Server(tmp_path_factory.mktemp("tls-data"), "--tls-cert", str(d / "node.crt"), "--tls-key", str(d / "node.key"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def mtls_server(tmp_path_factory: pytest.TempPathFactory, pki: Tuple[Path, Path]) -> Iterator[Server]:
    d = pki[0]
    s = Server(tmp_path_factory.mktemp("mtls-data"), "--tls-cert", str(d / "node.crt"), "--tls-key", str(d / "node.key"),
               "--tls-client-ca", str(d / "ca.crt"))
    yield s
    s.stop()


def roundtrip(client: Client, name: str) -> None:
    sid = client.create_stream(name, DataClass.NON_PHI)
    client.append(sid, [name.encode()])
    assert [e.data for e in client.read_all(sid)] == [name.encode()]


def test_tls_with_ca_file_and_ca_pem(tls_server: Server, pki: Tuple[Path, Path]) -> None:
    ca = pki[0] / "ca.crt"
    with Client.connect([tls_server.addr], tenant_id=1, tls=TLS(ca_file=str(ca))) as c:
        roundtrip(c, "py-tls-file")
    with Client.connect([tls_server.addr], tenant_id=1, tls=TLS(ca_pem=ca.read_bytes(), server_name="localhost")) as c:
        roundtrip(c, "py-tls-pem")


def test_wrong_ca_fails_clearly_and_is_not_retryable(tls_server: Server, pki: Tuple[Path, Path]) -> None:
    with pytest.raises(TLSError) as info:
        Client.connect([tls_server.addr], tenant_id=1, tls=TLS(ca_file=str(pki[1] / "ca.crt")), retry_max_attempts=8)
    err = info.value
    assert "unknown authority" in str(err)
    assert err.code == "KMB_ERR_TLS" and not err.retryable
    assert isinstance(err, ConnectionError) and isinstance(err, kimberlite.KimberliteError)


def test_system_roots_do_not_trust_a_local_ca(tls_server: Server) -> None:
    with pytest.raises(TLSError, match="unknown authority"):
        Client.connect([tls_server.addr], tenant_id=1, tls=True)


def test_plaintext_client_on_a_tls_port_is_told_why(tls_server: Server) -> None:
    with pytest.raises(kimberlite.KimberliteError, match="accepts TLS connections only"):
        Client.connect([tls_server.addr], tenant_id=1)


def test_mutual_tls(mtls_server: Server, pki: Tuple[Path, Path]) -> None:
    d = pki[0]
    with Client.connect([mtls_server.addr], tenant_id=1,
                        tls=TLS(ca_file=str(d / "ca.crt"), cert_file=str(d / "client.crt"), key_file=str(d / "client.key"))) as c:
        roundtrip(c, "py-mtls-files")
    with Client.connect([mtls_server.addr], tenant_id=1,
                        tls=TLS(ca_file=str(d / "ca.crt"), cert_pem=(d / "client.crt").read_text(),
                                key_pem=(d / "client.key").read_bytes())) as c:
        roundtrip(c, "py-mtls-pem")
    with pytest.raises(TLSError, match="certificate required"):
        Client.connect([mtls_server.addr], tenant_id=1, tls=TLS(ca_file=str(d / "ca.crt")))


def test_bad_tls_arguments(tls_server: Server, tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        Client.connect([tls_server.addr], tenant_id=1, tls="yes")  # type: ignore[arg-type]
    with pytest.raises(kimberlite.InvalidArgument, match="TLSCAFile"):
        Client.connect([tls_server.addr], tenant_id=1, tls=TLS(ca_file=str(tmp_path / "missing.crt")))
    with pytest.raises(kimberlite.InvalidArgument, match="go together"):
        Client.connect([tls_server.addr], tenant_id=1, tls=TLS(cert_pem="-----BEGIN CERTIFICATE-----"))
    assert "ca_file" in repr(TLS(ca_file="x"))
