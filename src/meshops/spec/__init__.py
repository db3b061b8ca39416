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

:func:`load_file` (or :func:`load` for text) returns the
:class:`~meshops.model.platform.Platform` it declares, or raises
:class:`PlatformFileError` listing every :class:`SpecError`, each at a line and column.
"""

from meshops.spec.errors import PlatformFileError, SpecError, format_path
from meshops.spec.loader import load, load_file
from meshops.spec.schema import API_VERSION, KIND

__all__ = [
    "API_VERSION",
    "KIND",
    "PlatformFileError",
    "SpecError",
    "format_path",
    "load",
    "load_file",
]
