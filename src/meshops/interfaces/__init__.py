"""Juju relation interface libraries: one requirer and one provider per interface.

Each library reads relation databags into :mod:`meshops.model` types (reporting bad
remote data as :class:`meshops.model.Problem`, never raising from a hook) and writes
databags byte-compatible with the library the Juju ecosystem already uses for that
interface, so a charm moving to ours changes an import line, not its code.

* :mod:`meshops.interfaces.service_mesh`: the ``service_mesh`` and ``cross_model_mesh``
  interfaces (``charmlibs-interfaces-service-mesh``).

Import the submodule you need; this package imports nothing on its own.
"""
