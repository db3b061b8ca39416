"""Two reconcilers sharing a namespace, interleaved, under random API faults (hypothesis).

Two owners reconcile changing sets of objects in one namespace, some names wanted by
both, beside an object neither owns, with the fake failing requests at random. Whatever
the order and the faults: neither ever writes to or deletes the other's objects or the
foreign one, a name both want belongs to whoever created it first, and once the faults
stop each owner holds exactly what it wants and may have.
"""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshops.k8s import Api, Deadline, KubernetesError, Reconciler, make_client
from meshops.k8s.kinds import AUTHORIZATION_POLICY
from meshops.k8s.reconciler import OWNER_LABEL
from meshops.testing import FakeKubernetes
from meshops.testing.faults import foreign, lost

AP = "security.istio.io/v1"
NAMES = ("p1", "p2", "shared", "q1")
OWNERS = ("one.m", "two.m")


def policy(name: str, owner: str) -> dict[str, Any]:
    return {
        "apiVersion": AP,
        "kind": "AuthorizationPolicy",
        "metadata": {"name": name, "namespace": "a"},
        "spec": {
            "action": "ALLOW",
            "rules": [{"from": [{"source": {"principals": [f"cluster.local/ns/a/sa/{owner}"]}}]}],
        },
    }


class Owner:
    """One owner's client (made once: a client is costly), and a reconciler per hook."""

    def __init__(self, fake: FakeKubernetes, name: str) -> None:
        self.fake, self.name = fake, name
        self.deadline = Deadline(30.0, clock=fake.time.now)
        self.client = make_client(
            fake.transport, field_manager=name, timeout=lambda: self.deadline.request_timeout()
        )

    def hook(self) -> Reconciler:
        """A reconciler with a deadline of its own, as in a new hook."""
        self.deadline = Deadline(30.0, clock=self.fake.time.now)
        api = Api(
            self.client,
            field_manager=self.name,
            sleep=self.fake.time.sleep,
            deadline=self.deadline,
        )
        return Reconciler(
            api, owner=self.name, scope="s", kinds=[AUTHORIZATION_POLICY], namespaces=["a"]
        )


def holders(fake: FakeKubernetes) -> dict[str, str]:
    return {
        p["metadata"]["name"]: p["metadata"].get("labels", {}).get(OWNER_LABEL, "")
        for p in fake.list(AP, "AuthorizationPolicy", "a")
    }


steps = st.lists(
    st.tuples(st.sampled_from(OWNERS), st.frozensets(st.sampled_from(NAMES))),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps, rate=st.sampled_from([0.0, 0.2, 0.4]), seed=st.integers(0, 1000))
def test_two_owners_in_one_namespace_never_touch_each_others_objects(
    make_fake: Any, steps: list[tuple[str, frozenset[str]]], rate: float, seed: int
) -> None:
    fake: FakeKubernetes = make_fake("authorizationpolicies.security.istio.io", namespaces=["a"])
    fake.add(policy("theirs", "someone"))
    theirs = foreign(fake)
    owners = {name: Owner(fake, name) for name in OWNERS}
    wanted: dict[str, frozenset[str]] = dict.fromkeys(OWNERS, frozenset())
    first: dict[str, str] = {}  # name -> the owner that created it first
    for i, (owner, names) in enumerate(steps):
        wanted[owner] = names
        before = holders(fake)
        fake.fail_randomly(rate, seed=seed + i)
        # a hook the API fails ends Waiting (KubernetesError); the next one goes on
        with contextlib.suppress(KubernetesError):
            owners[owner].hook().reconcile([policy(n, owner) for n in sorted(names)])
        fake.fail_randomly(0)
        after = holders(fake)
        for name, holder in after.items():
            if holder and before.get(name) not in (None, holder):
                raise AssertionError(f"{name} changed hands: {before[name]} -> {holder}")
            if holder and name not in before:
                first.setdefault(name, holder)
        for name, holder in before.items():
            if holder and holder != owner:  # only its owner may change or delete it
                assert after.get(name) == holder
        assert lost(theirs, foreign(fake)) == []
    # the faults stop: each owner converges on what it wants and may have (a name one
    # lets go of the other takes on its next reconcile)
    for owner in (*OWNERS, *OWNERS):
        result = owners[owner].hook().reconcile([policy(n, owner) for n in wanted[owner]])
        for name in {c.name for c in result.of("refused")}:
            assert holders(fake)[name] not in ("", owner)
    final = holders(fake)
    for owner in OWNERS:
        other = next(o for o in OWNERS if o != owner)
        mine = {n for n, h in final.items() if h == owner}
        assert mine == {n for n in wanted[owner] if final.get(n) != other}
    assert final["theirs"] == ""
