"""Who gets a sidecar, and which profiles inject: checked against the real istioctl.

:func:`meshops.model.ambient.sidecar_injected` and :attr:`Profile.injects_sidecars` say
what Istio's documents say. Here the pinned istioctl's own manifests decide: which
profiles carry the injector's MutatingWebhookConfiguration, and, for every combination
of the injection labels on a namespace and a pod, whether one of its webhooks (their
namespace and object selectors) would be called for that pod.
"""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshops.model.ambient import sidecar_injected
from meshops.model.platform import Profile
from meshops.model.selectors import label_selector

Obj = dict[str, Any]


def generate(istioctl: Path, profile: Profile) -> list[Obj]:
    done = subprocess.run(
        [str(istioctl), "manifest", "generate", "--set", f"profile={profile.value}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return [d for d in yaml.safe_load_all(done.stdout) if d]


@pytest.fixture(scope="module")
def manifests(istioctl: Path) -> dict[Profile, list[Obj]]:
    return {profile: generate(istioctl, profile) for profile in Profile}


@pytest.mark.parametrize("profile", list(Profile), ids=[p.value for p in Profile])
def test_the_profiles_that_install_the_injector(
    manifests: dict[Profile, list[Obj]], profile: Profile
) -> None:
    webhooks = [o for o in manifests[profile] if o["kind"] == "MutatingWebhookConfiguration"]
    assert bool(webhooks) is profile.injects_sidecars


def injector_calls(
    webhooks: list[Obj], pod: Mapping[str, str], namespace: Mapping[str, str]
) -> bool:
    """Whether any webhook of the injector selects this pod in this namespace."""
    for configuration in webhooks:
        for hook in configuration["webhooks"]:
            where = f"webhook {hook['name']}"
            namespaces = label_selector(hook.get("namespaceSelector") or {}, where)
            objects = label_selector(hook.get("objectSelector") or {}, where)
            if namespaces.matches(namespace) and objects.matches(pod):
                return True
    return False


NAMESPACE_LABELS = [
    {},
    {"istio-injection": "enabled"},
    {"istio-injection": "disabled"},
    {"istio.io/rev": "default"},
    {"istio-injection": "enabled", "istio.io/dataplane-mode": "ambient"},
]
POD_LABELS = [{}, {"sidecar.istio.io/inject": "true"}, {"sidecar.istio.io/inject": "false"}]


@pytest.mark.parametrize("profile", [Profile.default, Profile.ambient], ids=["default", "ambient"])
def test_who_gets_a_sidecar_is_who_the_injector_is_called_for(
    manifests: dict[Profile, list[Obj]], profile: Profile
) -> None:
    webhooks = [o for o in manifests[profile] if o["kind"] == "MutatingWebhookConfiguration"]
    disagree = []
    for ns_labels, pod_labels in itertools.product(NAMESPACE_LABELS, POD_LABELS):
        namespace = {"kubernetes.io/metadata.name": "shop", **ns_labels}
        pod = {"app.kubernetes.io/name": "cart", **pod_labels}
        if injector_calls(webhooks, pod, namespace) is not sidecar_injected(pod, namespace):
            disagree.append((ns_labels, pod_labels))
    assert disagree == []
