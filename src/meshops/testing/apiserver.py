"""A real Kubernetes API server on loopback: etcd and kube-apiserver, built from Go modules.

:class:`LocalApiServer` starts etcd and kube-apiserver (the binaries ``gotools/build``
compiles) on free loopback ports, with a temporary data folder and certificates made for
this run, the default admission plugins and RBAC authorization as in a real cluster, and
an audit log. It installs the upstream CRDs the package carries, writes a kubeconfig for
an administrator (``system:masters``), and can mint client certificates for other users,
so that tests see how RBAC refusals surface. No controller runs: nothing reconciles
Gateways, deletes a namespace's contents or schedules pods.

Used by the test suite (one server per run) and by people trying meshops without a
cluster::

    python -m meshops.testing.apiserver --kubeconfig ./local.kubeconfig

Every request the server answers is in its audit log: :meth:`LocalApiServer.requests`
reads it, so reads and writes are counted by the server, not by the client.
"""

# httpx2's Client is not fully typed (its context manager and JSON bodies come out
# unknown); what the server answers is plain JSON handled right here.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false
# pyright: reportUnknownArgumentType=false

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import datetime
import functools
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Generator, Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx2
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from meshops import crds
from meshops.model.ownership import OWNER_LABEL
from meshops.testing import tools, upstream
from meshops.testing.fake_kubernetes import StatusError
from meshops.testing.fake_kubernetes.requestlog import Request

__all__ = ["DEFAULT_CRDS", "LocalApiServer", "ServerFailed", "main"]

#: The CRDs a local server gets: the Gateway API's standard channel and TCPRoute from
#: the experimental one (as the fake's tests use them), and Istio's.
DEFAULT_CRDS = (
    "gatewayclasses.gateway.networking.k8s.io",
    "gateways.gateway.networking.k8s.io",
    "httproutes.gateway.networking.k8s.io",
    "grpcroutes.gateway.networking.k8s.io",
    "referencegrants.gateway.networking.k8s.io",
    "tlsroutes.gateway.networking.k8s.io",
    "listenersets.gateway.networking.k8s.io",
    "backendtlspolicies.gateway.networking.k8s.io",
    "tcproutes.gateway.networking.k8s.io",
)
_VERB_METHOD = {
    "get": "GET",
    "list": "GET",
    "watch": "GET",
    "create": "POST",
    "update": "PUT",
    "patch": "PATCH",
    "delete": "DELETE",
    "deletecollection": "DELETE",
}
_AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
  - level: Request
"""
_PR_SET_PDEATHSIG = 1
#: The user this class's own requests are made as.
INSPECTOR = "meshops-inspector"
#: The label of the cluster-wide objects :meth:`LocalApiServer.grant` makes.
TEST_LABEL = "meshops.io/test"
#: Users whose requests are not the tests', left out of :meth:`LocalApiServer.requests`.
_SERVER_USERS = frozenset({"system:apiserver", "system:kube-controller-manager"})
_INTERNAL_USERS = _SERVER_USERS | {INSPECTOR}
#: Cluster-wide collections reset() leaves alone (it puts them back its own way).
_KEPT_CLUSTER_COLLECTIONS = ("/customresourcedefinitions", "/clusterroles", "/clusterrolebindings")
START_TIMEOUT = 60.0


class ServerFailed(RuntimeError):
    """etcd or kube-apiserver did not start; the message holds the end of its log."""


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports.

    Every socket stays bound until all are chosen: closed one at a time, the kernel may
    hand the same port out twice (etcd's client and peer ports then collide).
    """
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Ask Linux to stop the child when this process dies (also on SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class _Pki:
    """A CA for this run, the server's certificate and client certificates."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "meshops-local-ca")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )
        self.ca_file = self._write("ca.crt", self.cert.public_bytes(serialization.Encoding.PEM))

    def _write(self, name: str, data: bytes) -> Path:
        path = self.folder / name
        path.write_bytes(data)
        path.chmod(0o600)
        return path

    def issue(
        self, name: str, common_name: str, *, groups: Iterable[str] = (), server: bool = False
    ) -> tuple[Path, Path]:
        """A certificate and key signed by the CA; returns (cert file, key file)."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        subject += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(subject))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=7))
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("localhost"),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    ]
                ),
                critical=False,
            ).add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
        else:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
            )
        cert = builder.sign(self.key, hashes.SHA256())
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return (
            self._write(f"{name}.crt", cert.public_bytes(serialization.Encoding.PEM)),
            self._write(f"{name}.key", key_pem),
        )


class LocalApiServer:
    """etcd and kube-apiserver on loopback, with the upstream CRDs installed.

    Args:
        binaries: the folder holding ``etcd`` and ``kube-apiserver``
            (:func:`meshops.testing.tools.bin_dir`).
        workdir: where data, certificates, logs and the kubeconfig go; default: a new
            temporary folder, removed by :meth:`stop`.
        crd_names: the CRDs to install (default :data:`DEFAULT_CRDS` and Istio's).

    Example::

        with LocalApiServer(tools.bin_dir(repo)) as server:
            os.environ["KUBECONFIG"] = str(server.kubeconfig)
    """

    def __init__(
        self,
        binaries: Path,
        *,
        workdir: Path | None = None,
        crd_names: Iterable[str] | None = None,
    ) -> None:
        self.binaries = binaries
        self._own_workdir = workdir is None
        self.workdir = (
            Path(tempfile.mkdtemp(prefix="meshops-apiserver-")) if workdir is None else workdir
        )
        self.crd_names = tuple(crd_names) if crd_names is not None else None
        self._processes: list[subprocess.Popen[bytes]] = []
        self.port = 0
        self.url = ""
        self.kubeconfig = self.workdir / "kubeconfig"
        self.audit_log = self.workdir / "audit.log"
        self._audit_offset = 0
        self._reset_offset = 0
        self.started_in = 0.0
        self._pki: _Pki | None = None
        self._admin: tuple[Path, Path] | None = None
        self._inspector: tuple[Path, Path] | None = None
        self._transport: httpx2.BaseTransport | None = None
        self._discovered: dict[tuple[str, str], tuple[str, bool]] | None = None

    # -- life ----------------------------------------------------------------------------

    def __enter__(self) -> LocalApiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start etcd and kube-apiserver, wait until ready, install the CRDs.

        Raises:
            ServerFailed: a process exited or the server was not ready in time.
        """
        began = time.monotonic()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began

    def _start(self) -> None:
        pki_dir = self.workdir / "pki"
        pki_dir.mkdir(parents=True, exist_ok=True)
        self._pki = pki = _Pki(pki_dir)
        serving = pki.issue("apiserver", "kube-apiserver", server=True)
        self._admin = pki.issue("admin", "meshops-admin", groups=["system:masters"])
        # What this class itself reads and writes (add, get, list, reset) is done as
        # another user, left out of requests(): a test counts only its own requests.
        self._inspector = pki.issue("inspector", INSPECTOR, groups=["system:masters"])
        sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        sa_key_file = pki_dir / "sa.key"
        sa_key_file.write_bytes(
            sa_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        (self.workdir / "audit-policy.yaml").write_text(_AUDIT_POLICY)

        etcd_port, peer_port, self.port = _free_ports(3)
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        self._spawn(
            "etcd",
            [
                "--name=local",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-cluster=local=http://127.0.0.1:{peer_port}",
                "--unsafe-no-fsync",  # a throw-away store: durability buys nothing here
                "--log-level=warn",
            ],
        )
        self.url = f"https://127.0.0.1:{self.port}"
        self._spawn(
            "kube-apiserver",
            [
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                # no kubernetes Service endpoints: its address is loopback, nothing runs
                "--endpoint-reconciler-type=none",
                f"--secure-port={self.port}",
                f"--tls-cert-file={serving[0]}",
                f"--tls-private-key-file={serving[1]}",
                f"--client-ca-file={pki.ca_file}",
                "--authorization-mode=RBAC",
                "--anonymous-auth=false",
                f"--service-account-key-file={sa_key_file}",
                f"--service-account-signing-key-file={sa_key_file}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                "--service-cluster-ip-range=10.96.0.0/16",
                f"--audit-policy-file={self.workdir / 'audit-policy.yaml'}",
                f"--audit-log-path={self.audit_log}",
                "--audit-log-format=json",
                "--audit-log-mode=blocking-strict",
                "--profiling=false",
                "--v=0",
            ],
        )
        self._write_kubeconfig(self.kubeconfig, *self._admin)
        self._wait_ready()
        self.install_crds(self._crd_documents())

    def _spawn(self, tool: str, args: list[str]) -> None:
        log = (self.workdir / f"{tool}.log").open("wb")
        process = subprocess.Popen(
            [str(self.binaries / tool), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.workdir,
            preexec_fn=_die_with_parent,
        )
        log.close()
        self._processes.append(process)

    @property
    def running(self) -> bool:
        """Whether etcd and kube-apiserver both still run."""
        return bool(self._processes) and all(p.poll() is None for p in self._processes)

    def stop(self) -> None:
        """Stop both processes and remove the working folder (when it was ours)."""
        for process in reversed(self._processes):
            if process.poll() is None:
                process.terminate()
        for process in reversed(self._processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes.clear()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _tail(self, tool: str, lines: int = 15) -> str:
        path = self.workdir / f"{tool}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _check_running(self) -> None:
        for process, tool in zip(self._processes, ("etcd", "kube-apiserver"), strict=False):
            if process.poll() is not None:
                raise ServerFailed(f"{tool} exited with {process.returncode}:\n{self._tail(tool)}")

    def _wait_ready(self) -> None:
        # Start-up is the one place that polls: nothing else tells when it is ready.
        deadline = time.monotonic() + START_TIMEOUT
        with self.http() as http:
            while True:
                self._check_running()
                with contextlib.suppress(httpx2.TransportError):
                    if http.get("/readyz").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise ServerFailed(
                        f"kube-apiserver not ready after {START_TIMEOUT:.0f} s:\n"
                        f"{self._tail('kube-apiserver')}"
                    )
                time.sleep(0.1)

    # -- clients -------------------------------------------------------------------------

    def _inspect(self) -> httpx2.Client:
        return self.http(self._inspector)

    def ssl_context(self, user: tuple[Path, Path] | None = None) -> ssl.SSLContext:
        """TLS settings for a client: trust this run's CA, present ``user``'s certificate."""
        assert self._pki is not None, "the server is not started"
        context = ssl.create_default_context(cafile=str(self._pki.ca_file))
        cert, key = user or self._admin or (None, None)
        if cert is not None and key is not None:
            context.load_cert_chain(str(cert), str(key))
        return context

    def http(self, user: tuple[Path, Path] | None = None, **kwargs: Any) -> httpx2.Client:
        """A raw HTTPS client on the server, as the administrator or as ``user``."""
        kwargs.setdefault("timeout", 60.0)
        return httpx2.Client(
            base_url=self.url, verify=self.ssl_context(user), trust_env=False, **kwargs
        )

    def transport_for(self, user: tuple[Path, Path] | None = None) -> httpx2.BaseTransport:
        """An httpx2 transport that sends any request's path and query to this server.

        Clients built for the in-process fake (``meshops.k8s.make_client``) talk to this
        server through it unchanged.
        """
        context = self.ssl_context(user)
        return _Redirect(self.url, httpx2.HTTPTransport(verify=context), context)

    def user(self, name: str, *, groups: Iterable[str] = ()) -> tuple[Path, Path]:
        """A client certificate for user ``name`` (in ``groups``): (cert file, key file).

        Nothing is allowed to it until RBAC grants it (see :meth:`grant`).
        """
        assert self._pki is not None, "the server is not started"
        return self._pki.issue(f"user-{name}", name, groups=groups)

    def grant(
        self, user: str, rules: Iterable[Mapping[str, Any]], namespace: str | None = None
    ) -> None:
        """Allow ``user`` what ``rules`` say (RBAC PolicyRules), in ``namespace`` or everywhere.

        A Role and RoleBinding in the namespace, or a ClusterRole and ClusterRoleBinding,
        named ``meshops-test-<user>`` (:meth:`reset` removes the cluster-wide ones).
        """
        name = f"meshops-test-{user}"
        meta: dict[str, Any] = {"name": name, "labels": {TEST_LABEL: "true"}}
        role_kind = "Role" if namespace else "ClusterRole"
        if namespace:
            meta["namespace"] = namespace
        rbac = "rbac.authorization.k8s.io/v1"
        self.add({"apiVersion": rbac, "kind": role_kind, "metadata": meta, "rules": list(rules)})
        self.add(
            {
                "apiVersion": rbac,
                "kind": f"{role_kind}Binding",
                "metadata": meta,
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": role_kind,
                    "name": name,
                },
                "subjects": [
                    {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}
                ],
            }
        )

    def kubeconfig_for(self, name: str, *, groups: Iterable[str] = ()) -> Path:
        """A kubeconfig file for user ``name`` (see :meth:`user`)."""
        path = self.workdir / f"kubeconfig-{name}"
        self._write_kubeconfig(path, *self.user(name, groups=groups))
        return path

    def _write_kubeconfig(self, path: Path, cert: Path, key: Path) -> None:
        assert self._pki is not None

        def data(p: Path) -> str:
            return base64.b64encode(p.read_bytes()).decode()

        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "local",
                    "cluster": {
                        "server": self.url,
                        "certificate-authority-data": data(self._pki.ca_file),
                    },
                }
            ],
            "users": [
                {
                    "name": "local",
                    "user": {
                        "client-certificate-data": data(cert),
                        "client-key-data": data(key),
                    },
                }
            ],
            "contexts": [{"name": "local", "context": {"cluster": "local", "user": "local"}}],
            "current-context": "local",
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)

    # -- objects -------------------------------------------------------------------------

    @functools.cache  # noqa: B019 - one server object per run, its CRDs never change
    def _crd_documents(self) -> list[dict[str, Any]]:
        names = self.crd_names
        if names is None:
            istio = [
                d
                for d in upstream.parse(crds.ROOT / upstream.ISTIO_BUNDLE)
                if d.get("kind") == "CustomResourceDefinition"
            ]
            return upstream.crd_docs(crds.ROOT, *DEFAULT_CRDS) + istio
        return upstream.crd_docs(crds.ROOT, *names)

    def install_crds(self, documents: Iterable[Mapping[str, Any]]) -> None:
        """Create these CRDs (those not there yet) and wait until they are established.

        A CRD of the same name still being deleted is waited for, then created anew.
        """
        path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        deadline = time.monotonic() + START_TIMEOUT
        documents = list(documents)
        with self._inspect() as http:
            for doc in documents:
                name = str(doc["metadata"]["name"])
                while True:
                    response = http.post(path, json=dict(doc))
                    if response.status_code == 201:
                        break
                    live = http.get(f"{path}/{name}")
                    if response.status_code == 409 and live.status_code == 200:
                        if not live.json()["metadata"].get("deletionTimestamp"):
                            break
                    elif 400 <= response.status_code < 500 and response.status_code != 409:
                        _raise_for(response)  # refused, as the fake refuses it: a StatusError
                    elif response.status_code != 409:
                        raise ServerFailed(f"CRD {name} refused: {response.text[:500]}")
                    if time.monotonic() > deadline:
                        raise ServerFailed(f"CRD {name} still being deleted")
                    time.sleep(0.05)
            for doc in documents:
                name = str(doc["metadata"]["name"])
                while not self._established(http, f"{path}/{name}"):
                    if time.monotonic() > deadline:
                        raise ServerFailed(f"CRD {name} not established in time")
                    time.sleep(0.05)
                # Established comes before the kind's storage is ready ("storage is
                # (re)initializing"): wait until its objects can be listed.
                spec = doc["spec"]
                version = next(v["name"] for v in spec["versions"] if v.get("served"))
                objects = f"/apis/{spec['group']}/{version}/{spec['names']['plural']}"
                while http.get(objects, params={"limit": 1}).status_code != 200:
                    if time.monotonic() > deadline:
                        raise ServerFailed(f"{name}'s objects cannot be listed in time")
                    time.sleep(0.05)

    @staticmethod
    def _established(http: httpx2.Client, path: str) -> bool:
        answer = http.get(path)
        if answer.status_code != 200:
            return False
        conditions = (answer.json().get("status") or {}).get("conditions") or []
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

    # -- the fake's surface: contract tests run the same code on both servers -----------

    @property
    def transport(self) -> httpx2.BaseTransport:
        """The administrator's transport (see :meth:`transport_for`)."""
        if self._transport is None:
            self._transport = self.transport_for()
        return self._transport

    def _resources(self) -> dict[tuple[str, str], tuple[str, bool]]:
        """(apiVersion, kind) -> (plural, namespaced), from the server's discovery."""
        if self._discovered is None:
            found: dict[tuple[str, str], tuple[str, bool]] = {}
            with self._inspect() as http:
                versions = ["v1"]
                groups = http.get("/apis").json().get("groups", [])
                versions += [v["groupVersion"] for g in groups for v in g["versions"]]
                for version in versions:
                    prefix = "/api/" if version == "v1" else "/apis/"
                    answer = http.get(prefix + version)
                    if answer.status_code != 200:
                        continue
                    for res in answer.json().get("resources", []):
                        if "/" not in res["name"]:
                            found[(version, res["kind"])] = (res["name"], res["namespaced"])
            self._discovered = found
        return self._discovered

    def _path(self, api_version: str, kind: str, namespace: str | None, name: str = "") -> str:
        resources = self._resources()
        if (api_version, kind) not in resources:
            self._discovered = None  # a CRD may have been installed since
            resources = self._resources()
        try:
            plural, namespaced = resources[(api_version, kind)]
        except KeyError:
            raise ValueError(f"{kind} ({api_version}) is not served") from None
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        where = f"/namespaces/{namespace}" if namespaced and namespace else ""
        return f"{prefix}{where}/{plural}" + (f"/{name}" if name else "")

    @contextlib.contextmanager
    def installed(self, kubeconfig: Path | None = None) -> Generator[None]:
        """Point every meshops client in this process at this server, by ``KUBECONFIG``.

        Unlike the fake's, nothing is replaced: lightkube reads the kubeconfig and talks
        HTTPS to the server, as the administrator or as the user of ``kubeconfig``
        (:meth:`kubeconfig_for`).
        """
        previous = os.environ.get("KUBECONFIG")
        os.environ["KUBECONFIG"] = str(kubeconfig or self.kubeconfig)
        try:
            yield
        finally:
            if previous is None:
                del os.environ["KUBECONFIG"]
            else:
                os.environ["KUBECONFIG"] = previous

    def served(self, api_version: str, kind: str) -> bool:
        """Whether the server serves this kind."""
        self._discovered = None
        return (api_version, kind) in self._resources()

    def install_crd(self, doc: Mapping[str, Any]) -> None:
        """Install one CRD (nothing when it is installed already)."""
        self.install_crds([doc])
        self._discovered = None

    def add(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Create (or replace) an object as field manager ``test``; ``status`` is written too.

        Raises:
            StatusError: the server refused it.
        """
        meta = obj.get("metadata", {})
        namespace, name = meta.get("namespace"), str(meta.get("name", ""))
        api_version, kind = str(obj["apiVersion"]), str(obj["kind"])
        body = {k: v for k, v in obj.items() if k != "status"}
        with self._inspect() as http:
            params = {"fieldManager": "test"}
            live = http.get(self._path(api_version, kind, namespace, name))
            if live.status_code == 200:
                body = dict(
                    body,
                    metadata=dict(
                        meta, resourceVersion=live.json()["metadata"]["resourceVersion"]
                    ),
                )
                answer = http.put(
                    self._path(api_version, kind, namespace, name), json=body, params=params
                )
            else:
                answer = http.post(
                    self._path(api_version, kind, namespace), json=body, params=params
                )
            _raise_for(answer)
            stored = answer.json()
            if "status" in obj:
                stored = dict(stored, status=obj["status"])
                answer = http.put(
                    self._path(api_version, kind, namespace, name) + "/status",
                    json=stored,
                    params=params,
                )
                _raise_for(answer)
                stored = answer.json()
        return stored

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """The object as served in ``api_version``; None if absent."""
        with self._inspect() as http:
            answer = http.get(self._path(api_version, kind, namespace, name))
        if answer.status_code == 404:
            return None
        _raise_for(answer)
        return answer.json()

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        labels: str | None = None,
    ) -> list[dict[str, Any]]:
        """The objects of a kind (in ``namespace``, matching ``labels``), by namespace and name."""
        params = {"labelSelector": labels} if labels else {}
        with self._inspect() as http:
            answer = http.get(self._path(api_version, kind, namespace), params=params)
        _raise_for(answer)
        items = answer.json().get("items", [])
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return sorted(
            items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"])
        )

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete an object; return whether it existed.

        A CustomResourceDefinition is waited for until it is gone (the server first
        deletes its objects), so that afterwards its kinds are not served, as with the fake.
        """
        path = self._path(api_version, kind, namespace, name)
        with self._inspect() as http:
            answer = http.delete(path)
            if answer.status_code == 404:
                return False
            _raise_for(answer)
            if kind == "CustomResourceDefinition":
                deadline = time.monotonic() + START_TIMEOUT
                while http.get(path).status_code != 404:
                    if time.monotonic() > deadline:
                        raise ServerFailed(f"CRD {name} was not deleted in time")
                    time.sleep(0.05)
                self._discovered = None
        return True

    @property
    def reads(self) -> int:
        """How many GET requests the server answered since :meth:`clear_log`."""
        return sum(1 for r in self.requests if r.method == "GET")

    @property
    def writes(self) -> int:
        """How many writes the server answered since :meth:`clear_log`."""
        return sum(1 for r in self.requests if r.is_write)

    def clear_log(self) -> None:
        """Count requests from here (see :meth:`mark`)."""
        self.mark()

    def _reset_crds(self) -> None:
        """Put back the CRDs a test deleted; delete those a test installed."""
        wanted = {str(d["metadata"]["name"]): d for d in self._crd_documents()}
        crds_path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        with self._inspect() as http:
            # a CRD being deleted is as good as gone: install_crds waits, then makes it anew
            present = {
                c["metadata"]["name"]
                for c in http.get(crds_path).json()["items"]
                if not c["metadata"].get("deletionTimestamp")
            }
            extra = sorted(present - set(wanted))
            for name in extra:
                http.delete(f"{crds_path}/{name}")
            deadline = time.monotonic() + START_TIMEOUT
            for name in extra:
                while http.get(f"{crds_path}/{name}").status_code != 404:
                    if time.monotonic() > deadline:
                        raise ServerFailed(f"CRD {name} was not deleted in time")
                    time.sleep(0.05)
        missing = [doc for name, doc in wanted.items() if name not in present]
        if missing:
            self.install_crds(missing)
        if missing or extra:
            self._discovered = None

    def reset(
        self, keep: Iterable[str] = ("default", "kube-system", "kube-public", "kube-node-lease")
    ) -> None:
        """Remove every namespace but ``keep`` with everything in it (no controller would).

        The CRDs are put back as :meth:`start` installed them (those a test deleted come
        back, those a test installed go). The objects of every collection written to since
        the last reset are deleted first (in every namespace); then each namespace is
        deleted, its ``kubernetes`` finalizer released (the namespace controller's job)
        and deleted again.
        """
        keep = set(keep)
        self._reset_crds()
        with self._inspect() as http:
            # The server's own ClusterRoles stay: only the tests' go, those of grant() and
            # those a reconciler wrote (Istio's control plane, by the charm or the CLI).
            for plural in ("clusterrolebindings", "clusterroles"):
                for selector in (TEST_LABEL, OWNER_LABEL):
                    http.delete(
                        f"/apis/rbac.authorization.k8s.io/v1/{plural}",
                        params={"labelSelector": selector},
                    )
            namespaces = [
                n["metadata"]["name"]
                for n in http.get("/api/v1/namespaces").json()["items"]
                if n["metadata"]["name"] not in keep
            ]
            # Only the collections written to since the last reset can hold objects of
            # the tests': the audit log names them (far fewer requests than every kind).
            for collection in sorted(self._written_collections()):
                http.delete(collection)
            for namespace in namespaces:
                http.delete(f"/api/v1/namespaces/{namespace}")
                live = http.get(f"/api/v1/namespaces/{namespace}")
                if live.status_code == 200:
                    body = live.json()
                    body["spec"] = {"finalizers": []}
                    http.put(f"/api/v1/namespaces/{namespace}/finalize", json=body)
                    http.delete(f"/api/v1/namespaces/{namespace}")
        self._reset_offset = self._sync()

    def _written_collections(self) -> set[str]:
        """The namespaced collections anyone but the server wrote to since the last reset."""
        end = self._sync()
        with self.audit_log.open("rb") as f:
            f.seek(self._reset_offset)
            chunk = f.read(end - self._reset_offset)
        found: set[str] = set()
        for line in chunk.splitlines():
            event = json.loads(line)
            if event.get("verb") not in ("create", "update", "patch"):
                continue
            if event.get("user", {}).get("username") in _SERVER_USERS:
                continue
            parts = str(event.get("requestURI", "")).partition("?")[0].split("/")
            if "namespaces" in parts:
                at = parts.index("namespaces")
                # .../namespaces/<ns>/<plural>[/<name>[/<sub>]], not a namespace's own
                # subresources (.../namespaces/<ns>/status, /finalize)
                if len(parts) > at + 2 and parts[at + 2] not in ("status", "finalize"):
                    found.add("/".join(parts[: at + 3]))
                continue
            # a cluster-scoped kind: /api/v1/<plural>/... or /apis/<group>/<version>/<plural>/...
            collection = "/".join(parts[: 4 if parts[1:2] == ["api"] else 5])
            if not collection.endswith(_KEPT_CLUSTER_COLLECTIONS):
                found.add(collection)
        return found

    # -- the audit log -------------------------------------------------------------------

    def mark(self) -> None:
        """Forget the requests so far: :meth:`requests` counts from here."""
        self._audit_offset = self._sync()

    def _sync(self) -> int:
        """The audit log's size once every request answered so far is in it.

        The server writes an event after the response is sent, so a last, recognisable
        request is made and the log read until that request is in it.
        """
        sentinel = f"meshops-audit-sync-{uuid.uuid4().hex}"
        with self._inspect() as http:
            http.get(f"/api/v1/namespaces/{sentinel}")
        deadline = time.monotonic() + 10
        while True:
            data = self.audit_log.read_bytes() if self.audit_log.exists() else b""
            end = data.find(sentinel.encode())
            if end >= 0:
                return data.index(b"\n", end) + 1
            if time.monotonic() > deadline:
                raise ServerFailed("the audit log did not record a request in 10 s")
            time.sleep(0.01)

    @property
    def requests(self) -> list[Request]:
        """The requests the server answered since :meth:`mark` (the harness's own left out)."""
        return self.requests_of()

    def requests_of(self, user: str | None = None) -> list[Request]:
        """The requests the server answered since :meth:`mark` (the harness's own left out).

        Args:
            user: only this user's requests (default: every user's).
        """
        end = self._sync()
        with self.audit_log.open("rb") as f:
            f.seek(self._audit_offset)
            chunk = f.read(end - self._audit_offset)
        out: list[Request] = []
        for line in chunk.splitlines():
            event = json.loads(line)
            name = event.get("user", {}).get("username", "")
            uri = str(event.get("requestURI", ""))
            if name in _INTERNAL_USERS or "meshops-audit-sync-" in uri:
                continue
            if user is not None and name != user:
                continue
            path, _, query = uri.partition("?")
            params = dict(httpx2.QueryParams(query).multi_items())
            body = event.get("requestObject")
            out.append(
                Request(
                    method=_VERB_METHOD.get(str(event.get("verb")), str(event.get("verb"))),
                    path=path,
                    query=params,
                    content_type=None,
                    status=int(event.get("responseStatus", {}).get("code", 0)),
                    content=b"" if body is None else json.dumps(body).encode(),
                )
            )
        return out


def _raise_for(answer: httpx2.Response) -> None:
    """Raise the fake's StatusError for an error answer, with the server's Status body."""
    if answer.status_code >= 400:
        try:
            status: dict[str, Any] = answer.json()
        except ValueError:
            status = {"message": answer.text}
        raise StatusError(
            answer.status_code,
            str(status.get("reason", "")),
            str(status.get("message", "")),
            status.get("details"),
        )


class _Redirect(httpx2.BaseTransport, httpx2.AsyncBaseTransport):
    """Send each request to ``base`` (same path and query) through ``inner``.

    Like the fake's transport it serves sync and async clients alike: async requests go
    through an async transport with the same TLS settings, made on first use.
    """

    def __init__(
        self, base: str, inner: httpx2.BaseTransport, context: ssl.SSLContext | None = None
    ) -> None:
        self.base = httpx2.URL(base)
        self.inner = inner
        self._context = context
        self._async: httpx2.AsyncHTTPTransport | None = None

    def _point(self, request: httpx2.Request) -> None:
        request.url = request.url.copy_with(
            scheme=self.base.scheme, host=self.base.host, port=self.base.port
        )
        request.headers["Host"] = f"{self.base.host}:{self.base.port}"

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self._point(request)
        return self.inner.handle_request(request)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self._point(request)
        if self._async is None:
            self._async = httpx2.AsyncHTTPTransport(verify=self._context or True)
        return await self._async.handle_async_request(request)

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        # an async client closes its transport when it is done: only the async half
        if self._async is not None:
            transport, self._async = self._async, None
            await transport.aclose()


@contextlib.contextmanager
def _sigterm_interrupts() -> Generator[None]:
    """Turn SIGTERM into KeyboardInterrupt, so that both stop the server cleanly."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    """Run a local API server with the CRDs until interrupted (Ctrl-C)."""
    parser = argparse.ArgumentParser(
        prog="python -m meshops.testing.apiserver",
        description="Start etcd and kube-apiserver on loopback with the Gateway API and "
        "Istio CRDs, write a kubeconfig, and serve until Ctrl-C.",
    )
    parser.add_argument("--kubeconfig", default="local.kubeconfig", help="where to write it")
    parser.add_argument(
        "--bin-dir",
        help="the folder of etcd and kube-apiserver (default: what gotools/build made)",
    )
    args = parser.parse_args(argv)
    repo = Path(__file__).resolve().parents[3]
    try:
        binaries = (
            Path(args.bin_dir) if args.bin_dir else tools.bin_dir(repo, "etcd", "kube-apiserver")
        )
        server = LocalApiServer(binaries)
        server.start()
    except (tools.ToolsMissing, ServerFailed) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    target = Path(args.kubeconfig)
    shutil.copyfile(server.kubeconfig, target)
    target.chmod(0o600)
    print(
        f"kube-apiserver at {server.url} (started in {server.started_in:.1f} s); "
        f"kubeconfig: {target}\n"
        f"  export KUBECONFIG={target.resolve()}\n"
        "Ctrl-C stops it and removes its data.",
        flush=True,
    )
    try:
        with _sigterm_interrupts():
            while server.running:
                time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
