"""The platform file: its format, ``meshops.io/v1alpha1``, and how it is loaded.

A platform file is one YAML document::

    apiVersion: meshops.io/v1alpha1
    kind: Platform
    metadata: {name: shop}
    spec:
      namespaces:
        - {name: shop}                 # mesh: ambient (default) or off
      apps:
        - name: cart
          namespace: shop
          ports: [{port: 8080, protocol: http}]
          accepts:
            - from: [frontend]         # an app of the same namespace, or namespace/app
              methods: [GET]
              paths: [/cart/*]
      ingress:                         # optional: a Gateway API gateway in front of apps
        gateway: {name: edge, namespace: ingress}
        hostname: shop.example.com
        tls: {secret: shop-tls}        # an existing kubernetes.io/tls Secret
        routes:
          - app: frontend              # an app of spec.apps (or namespace/app)
            matches: [{path: {type: PathPrefix, value: /}}]

:func:`load_file` (or :func:`load` for text) returns the
:class:`~meshops.model.platform.Platform` it declares; :func:`read_file` (or
:func:`read`) a :class:`Declaration`: the platform and its :class:`Ingress`. Each raises
:class:`PlatformFileError` listing every :class:`SpecError`, each at a line and column.
"""

from meshops.platform_file.errors import (
    FileTooLargeError,
    PlatformFileError,
    SpecError,
    format_path,
)
from meshops.platform_file.ingress import Ingress
from meshops.platform_file.loader import (
    MAX_FILE_BYTES,
    Declaration,
    load,
    load_file,
    read,
    read_file,
)
from meshops.platform_file.schema import API_VERSION, KIND

__all__ = [
    "API_VERSION",
    "KIND",
    "MAX_FILE_BYTES",
    "Declaration",
    "FileTooLargeError",
    "Ingress",
    "PlatformFileError",
    "SpecError",
    "format_path",
    "load",
    "load_file",
    "read",
    "read_file",
]
