"""rollout_status is a pure function of the object: kubectl's messages for the states a test cluster
does not easily reach."""

from __future__ import annotations

from typing import Any

import pytest

import dynkube
from dynkube.rollout import rollout_status


def deployment(generation: int = 1, **status: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "generation": generation},
            "spec": {"replicas": 3}, "status": {"observedGeneration": 1, **status}}


def test_unobserved_spec_waits() -> None:
    assert rollout_status(deployment(generation=2)).message == "Waiting for deployment spec update to be observed..."


def test_each_deployment_stage_has_kubectls_message() -> None:
    assert rollout_status(deployment(updatedReplicas=1, replicas=3)).message == \
        'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...'
    assert rollout_status(deployment(updatedReplicas=3, replicas=4)).message == \
        'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...'
    assert rollout_status(deployment(updatedReplicas=3, replicas=3, availableReplicas=2)).message == \
        'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...'
    assert rollout_status(deployment(updatedReplicas=3, replicas=3, availableReplicas=3)).done


def test_progress_deadline_exceeded_is_an_error() -> None:
    stuck = deployment(conditions=[{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}])
    with pytest.raises(dynkube.RolloutError, match='deployment "web" exceeded its progress deadline'):
        rollout_status(stuck)


def test_on_delete_strategy_has_no_status() -> None:
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
           "spec": {"updateStrategy": {"type": "OnDelete"}}}
    with pytest.raises(dynkube.InvalidInput, match="only available for RollingUpdate"):
        rollout_status(sts)


def test_partitioned_statefulset() -> None:
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "generation": 1},
           "spec": {"replicas": 3, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}},
           "status": {"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 1}}
    assert rollout_status(sts).message == \
        "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated..."


def test_not_an_object() -> None:
    with pytest.raises(dynkube.InvalidInput, match="read from the server"):
        rollout_status({"kind": "Deployment"})
