#!/usr/bin/env bash
# Build a charm: stage into the charm's lib/ (which the charm's dispatch puts on
# PYTHONPATH) the meshops modules the charm imports, and only those (charms/stage.py
# traces them), then run `charmcraft pack` there.
# (istio-k8s: also stage gotools/istio, from which its charmcraft part builds istioctl.)
# Usage: charms/pack.sh istio-beacon-k8s | istio-ingress-k8s | gateway-api-integrator | istio-k8s
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=${1:?usage: charms/pack.sh istio-beacon-k8s | istio-ingress-k8s | gateway-api-integrator | istio-k8s}
charm="$here/$name"
[ -f "$charm/charmcraft.yaml" ] || { echo "no charm at $charm" >&2; exit 2; }
command -v charmcraft >/dev/null || { echo "charmcraft is not installed (snap install charmcraft --classic)" >&2; exit 2; }
python3 "$here/stage.py" "$charm" >/dev/null
# istio-k8s builds istioctl at pack time from the project's own Go module pin.
if [ "$name" = istio-k8s ]; then
    rm -rf "$charm/istioctl-src"
    cp -r "$here/../gotools/istio" "$charm/istioctl-src"
fi
cd "$charm" && charmcraft pack
