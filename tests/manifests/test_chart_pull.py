"""The endpoint spec's chart pulled by the real helm from an HTTPS chart repository on loopback,
kept in lamp's cache by repository, name and version, and rendered from there."""

from __future__ import annotations

import datetime
import functools
import ipaddress
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from tests.conftest import ENDPOINT_EXAMPLE, MODEL_EXAMPLE
from tests.manifests.conftest import CHART

pytestmark = pytest.mark.offline


def _self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class _Counting(SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, format: str, *args: object) -> None:
        type(self).requests.append(self.path)


@pytest.fixture
def chart_repository(
    helm: str, package_chart, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, list[str], ThreadingHTTPServer]]:
    """An HTTPS chart repository on loopback serving the packaged chart; helm trusts its
    certificate through SSL_CERT_FILE. Its URL, the paths requested, and the server."""
    root = tmp_path / "repository"
    root.mkdir()
    shutil.copy(package_chart(CHART), root)
    cert, key = _self_signed(tmp_path)
    handler = type("Handler", (_Counting,), {"requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=root))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    url = f"https://127.0.0.1:{server.server_address[1]}"
    indexed = subprocess.run(
        [helm, "repo", "index", str(root), "--url", url], capture_output=True, text=True
    )
    assert indexed.returncode == 0, indexed.stderr
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    # helm's own caches and lamp's chart cache, both under the test's directory.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url, handler.requests, server
    finally:
        server.shutdown()
        server.server_close()


def test_the_specs_chart_is_pulled_once_then_rendered_from_the_cache(
    lamp, chart_repository, tmp_path: Path
) -> None:
    url, requests, server = chart_repository
    endpoint = yaml.safe_load(ENDPOINT_EXAMPLE.read_text(encoding="utf-8"))
    endpoint["spec"]["chart"]["repository"] = url
    endpoint_file = tmp_path / "endpoint.yaml"
    endpoint_file.write_text(yaml.safe_dump(endpoint), encoding="utf-8")
    args = ["spec", "render", "--model-spec", str(MODEL_EXAMPLE), "--endpoint-spec",
            str(endpoint_file), "-f", "manifests"]  # fmt: skip

    first = lamp(*args)
    assert first.exit_code == 0, first.stderr
    assert "/lamp-serving-1.2.0.tgz" in requests
    cached = tmp_path / "cache" / "lamp" / "charts" / quote(url, safe="") / "lamp-serving" / "1.2.0"
    assert [p.name for p in cached.iterdir()] == ["lamp-serving-1.2.0.tgz"]
    assert "chart lamp-serving 1.2.0: 4 objects" in first.stderr

    server.shutdown()  # the repository is gone: the cached chart is all there is
    requests.clear()
    again = lamp(*args)
    assert again.exit_code == 0, again.stderr
    assert again.stdout == first.stdout
    assert requests == []


def test_a_chart_version_the_repository_lacks_is_not_found(
    lamp, chart_repository, tmp_path: Path
) -> None:
    url, _, _ = chart_repository
    endpoint = yaml.safe_load(ENDPOINT_EXAMPLE.read_text(encoding="utf-8"))
    endpoint["spec"]["chart"].update(repository=url, version="9.9.9")
    endpoint_file = tmp_path / "endpoint.yaml"
    endpoint_file.write_text(yaml.safe_dump(endpoint), encoding="utf-8")
    result = lamp("spec", "render", "--model-spec", str(MODEL_EXAMPLE), "--endpoint-spec",
                  str(endpoint_file), "-f", "manifests")  # fmt: skip
    assert result.exit_code == 4, result.stderr
    assert result.stderr.startswith("error: helm found no chart lamp-serving 9.9.9 from ")
    # Nothing half-written in the cache.
    assert [p.name for p in (tmp_path / "cache" / "lamp" / "charts").iterdir()] == []
