"""Builders for the files a gateway deals in: ``.modl`` modules, project zips and ``.gwbk`` backups.

Tests, examples and the simulator's own seed data use these, so a module or project never has to be
checked in as a binary. The ``.modl`` layout follows IGNITION.md §2f (IA's Gradle plugin), with the
lower-case and bare-``<module>`` variants the parser must also accept.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

from .state import SimGateway


def _module_xml(
    *,
    module_id: str,
    name: str,
    version: str,
    required: str,
    description: str,
    eula: bool,
    scopes: str,
    case: Literal["camel", "lower"],
    root: Literal["modules", "module"],
    free: bool,
) -> str:
    def tag(t: str) -> str:
        return t.lower() if case == "lower" else t

    fields = [
        f"<name>{escape(name)}</name>",
        f"<id>{escape(module_id)}</id>",
        f"<version>{escape(version)}</version>",
        f"<description>{escape(description)}</description>",
    ]
    if eula:
        fields.append("<license>license.html</license>")
    fields += [
        f"<{tag('requiredIgnitionVersion')}>{escape(required)}</{tag('requiredIgnitionVersion')}>",
        f"<{tag('freeModule')}>{'true' if free else 'false'}</{tag('freeModule')}>",
        f'<hook scope="{scopes}">com.example.sim.GatewayHook</hook>',
        f"<{tag('requiredFrameworkVersion')}>8</{tag('requiredFrameworkVersion')}>",
        f'<jar scope="{scopes}">sim-{escape(version)}.jar</jar>',
    ]
    body = "".join(fields)
    inner = f"<module>{body}</module>"
    document = inner if root == "module" else f"<modules>{inner}</modules>"
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{document}\n'


def make_modl(
    module_id: str = "com.example.sim",
    name: str = "Sim Module",
    version: str = "1.0.0",
    *,
    required: str = "8.3.0",
    signed: bool = False,
    eula: bool = False,
    scopes: str = "G",
    case: Literal["camel", "lower"] = "camel",
    root: Literal["modules", "module"] = "modules",
    description: str = "A module built for tests",
    free: bool = True,
    path: str | Path | None = None,
) -> bytes:
    """Return the bytes of a ``.modl`` (and write them to ``path`` if given).

    ``signed`` adds dummy ``certificates.p7b`` and ``signatures.properties``: the simulator checks only
    their presence. A ``description`` containing ``SIM:FAULT`` makes the module quarantine at restart.
    """
    xml = _module_xml(
        module_id=module_id,
        name=name,
        version=version,
        required=required,
        description=description,
        eula=eula,
        scopes=scopes,
        case=case,
        root=root,
        free=free,
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("module.xml", xml)
        archive.writestr(f"sim-{version}.jar", b"PK\x05\x06" + b"\x00" * 18)
        if eula:
            archive.writestr(
                "license.html", f"<html><body><h1>{escape(name)} EULA</h1></body></html>"
            )
        if signed:
            archive.writestr("certificates.p7b", b"SIMULATED-CERTIFICATE-CHAIN")
            archive.writestr("signatures.properties", f"sim-{version}.jar=SIMULATED\n")
    data = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def make_project_zip(
    name: str = "demo",
    *,
    title: str | None = None,
    description: str = "",
    views: dict[str, dict[str, Any]] | None = None,
    extra_files: dict[str, bytes | str] | None = None,
    settings: dict[str, Any] | None = None,
    path: str | Path | None = None,
) -> bytes:
    """Return a project export: ``project.json`` plus Perspective ``view.json`` files.

    ``settings`` adds keys to ``project.json`` (``{"requiresAuth": True}`` puts the simulated
    Perspective client behind the IdP login).
    """
    views = (
        views
        if views is not None
        else {
            "Main": {
                "root": {
                    "type": "ia.container.flex",
                    "meta": {"name": "root"},
                    "props": {},
                    "children": [
                        {
                            "type": "ia.display.label",
                            "meta": {"name": "Label"},
                            "props": {"text": f"Hello from {name}"},
                        }
                    ],
                }
            }
        }
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "project.json",
            json.dumps(
                {
                    "title": title or name,
                    "description": description,
                    "parent": "",
                    "enabled": True,
                    "inheritable": False,
                    **(settings or {}),
                }
            ),
        )
        for view_path, view in views.items():
            archive.writestr(
                f"com.inductiveautomation.perspective/views/{view_path}/view.json", json.dumps(view)
            )
        for file_path, content in (extra_files or {}).items():
            archive.writestr(file_path, content)
    data = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def make_gwbk(
    gateway: SimGateway | None = None, *, path: str | Path | None = None, **options: Any
) -> bytes:
    """Return a ``.gwbk`` taken from ``gateway`` (or from a fresh simulator built with ``options``)."""
    data, _ = (gateway or SimGateway(**options)).backup("all")
    if path is not None:
        Path(path).write_bytes(data)
    return data


def make_tls_cert(host: str = "127.0.0.1", days: int = 1) -> tuple[str, str]:
    """A self-signed certificate for ``host`` (an IP address or a DNS name) and its key, as PEM.

    For a simulator or stub served over HTTPS: a client must be given the certificate as its CA
    (a credential's ``ca_cert``) to trust it, as with a gateway's own self-signed certificate.
    """
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    try:
        alt_name: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        alt_name = x509.DNSName(host)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"gateway-sim {host}")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([alt_name]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


__all__ = ["make_gwbk", "make_modl", "make_project_zip", "make_tls_cert"]
