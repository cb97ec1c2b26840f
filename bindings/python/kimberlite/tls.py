"""TLS settings of a :class:`~kimberlite.Client` connection.

    from kimberlite import Client, TLS

    client = Client.connect(["db.example.com:5432"], tenant_id=1, tls=True)  # system roots
    client = Client.connect(["10.0.0.5:5432"], tenant_id=1,
                            tls=TLS(ca_file="ca.crt", cert_file="client.crt", key_file="client.key"))

The server's certificate is always verified (against the system roots unless a CA is given)
and its name checked against the host of each address (or ``server_name``). A certificate
refused by either side raises :class:`TLSError`, at once and without retries.
"""

from __future__ import annotations

from typing import Any, List, Optional, Tuple, Union

from ._convert import c_string
from .errors import KimberliteError

__all__ = ["TLS", "TLSError"]

PemData = Union[str, bytes]


class TLSError(KimberliteError, ConnectionError, code="KMB_ERR_TLS"):
    """The TLS handshake failed: the server's certificate was refused (unknown CA, expired,
    wrong host name: the message gives the verifier's reason), the server refused this
    client's certificate, or the server does not speak TLS. Also a ConnectionError.

    Not retryable: fix the certificates or the settings.
    """


class TLS:
    """How a client speaks TLS. Every argument is keyword-only and optional.

    Args:
        ca_file: path of a PEM file with the CA certificates the server's must chain to,
            instead of the system roots. ca_pem: the same as PEM text (str or bytes). At most
            one of the two.
        cert_file / cert_pem: this client's certificate chain (PEM), for servers that require
            mutual TLS; needs key_file or key_pem.
        key_file / key_pem: the private key of that certificate (PEM).
        server_name: the name the server's certificate must carry (default: the host of each
            address dialed).
        verify: False accepts any server certificate, which lets anyone on the network path
            read and change the traffic: for tests only (default True).

    Files are read when the client connects; an unreadable or malformed one raises
    InvalidArgument naming the option.
    """

    __slots__ = ("ca_file", "ca_pem", "cert_file", "cert_pem", "key_file", "key_pem", "server_name", "verify")

    def __init__(
        self,
        *,
        ca_file: Optional[str] = None,
        ca_pem: Optional[PemData] = None,
        cert_file: Optional[str] = None,
        cert_pem: Optional[PemData] = None,
        key_file: Optional[str] = None,
        key_pem: Optional[PemData] = None,
        server_name: Optional[str] = None,
        verify: bool = True,
    ) -> None:
        self.ca_file = ca_file
        self.ca_pem = ca_pem
        self.cert_file = cert_file
        self.cert_pem = cert_pem
        self.key_file = key_file
        self.key_pem = key_pem
        self.server_name = server_name
        if not isinstance(verify, bool):
            raise TypeError(f"TLS verify must be a bool, not {type(verify).__name__}")
        self.verify = verify

    def __repr__(self) -> str:
        shown = [f"{k}={getattr(self, k)!r}" for k in ("ca_file", "cert_file", "key_file", "server_name")
                 if getattr(self, k) is not None]
        shown += [f"{k}=<{len(getattr(self, k))} bytes>" for k in ("ca_pem", "cert_pem", "key_pem")
                  if getattr(self, k) is not None]
        if not self.verify:
            shown.append("verify=False")
        return f"TLS({', '.join(shown)})"

    def settings(self) -> List[Tuple[str, Any]]:
        """The (C setter, value) pairs that configure this TLS on a kmb_config_t."""
        out: List[Tuple[str, Any]] = [("kmb_config_set_tls", True)]
        for name, setter in (
            ("ca_file", "kmb_config_set_tls_ca_file"),
            ("cert_file", "kmb_config_set_tls_cert_file"),
            ("key_file", "kmb_config_set_tls_key_file"),
            ("server_name", "kmb_config_set_tls_server_name"),
        ):
            value = getattr(self, name)
            if value is not None:
                out.append((setter, c_string(f"TLS {name}", value, allow_empty=False)))
        for name, setter in (
            ("ca_pem", "kmb_config_set_tls_ca_pem"),
            ("cert_pem", "kmb_config_set_tls_cert_pem"),
            ("key_pem", "kmb_config_set_tls_key_pem"),
        ):
            value = getattr(self, name)
            if value is not None:
                if isinstance(value, (bytes, bytearray)):
                    value = bytes(value).decode("ascii", "replace")
                out.append((setter, c_string(f"TLS {name}", value, allow_empty=False)))
        if not self.verify:
            out.append(("kmb_config_set_tls_insecure_skip_verify", True))
        return out


def tls_settings(tls: Union[bool, TLS, None]) -> List[Tuple[str, Any]]:
    """The setter calls for Client.connect's ``tls`` argument: None or False for plain TCP,
    True for TLS verified against the system roots, or a :class:`TLS`."""
    if tls is None or tls is False:
        return []
    if tls is True:
        return TLS().settings()
    if isinstance(tls, TLS):
        return tls.settings()
    raise TypeError(f"tls must be True, False, None or a kimberlite.TLS, not {type(tls).__name__}")
