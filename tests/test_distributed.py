"""tflab.distributed: local clusters that always clean up, and synchronous training."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tflab import distributed

HERE = Path(__file__).resolve().parent
ENV = {"PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is not running; our Popen objects reap them, so this is a real process
    return True


def test_launcher_runs_the_target_in_every_worker_and_cleans_up():
    results = distributed.launch_local_cluster("cluster_targets:answer", workers=2, args=(7,),
                                               timeout=120, env=ENV)
    assert [(r.task_type, r.index, r.returncode) for r in results] == [("worker", 0, 0),
                                                                       ("worker", 1, 0)]
    assert all(r.value["x"] == 7 for r in results)
    assert not any(alive(r.pid) for r in results)


def test_a_crashing_worker_stops_the_whole_cluster():
    with pytest.raises(distributed.ClusterError, match="worker:1 failed") as info:
        distributed.launch_local_cluster("cluster_targets:crash_on_worker_1", workers=2,
                                         timeout=120, env=ENV)
    assert "fails on purpose" in str(info.value)
    assert not any(alive(r.pid) for r in info.value.results)


def test_a_timeout_stops_every_task():
    with pytest.raises(distributed.ClusterError, match="did not finish within 3 s") as info:
        distributed.launch_local_cluster("cluster_targets:sleep_forever", workers=2, ps=1,
                                         timeout=3, env=ENV)
    assert {r.task_type for r in info.value.results} == {"chief", "worker", "ps"}
    assert not any(alive(r.pid) for r in info.value.results)


def test_cluster_addresses_are_loopback_and_distinct():
    ports = distributed.free_ports(5)
    assert len(set(ports)) == 5
    results = distributed.launch_local_cluster("tflab.distributed:tf_config", workers=2,
                                               timeout=120, env=ENV)
    cluster = results[0].value["cluster"]
    addresses = [a for task in cluster.values() for a in task]
    assert all(a.startswith("127.0.0.1:") for a in addresses) and len(set(addresses)) == 2
    with pytest.raises(ValueError, match="module:function"):
        distributed.launch_local_cluster("nothing", workers=1)


def test_mirrored_strategy_equals_one_device():
    code = "import json; from tflab import distributed; " \
           "print(json.dumps(distributed.mirrored_vs_single(20)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300).stdout.strip().splitlines()[-1]
    result = json.loads(out)
    assert len(result["devices"]) == 2 and result["max_difference"] < 1e-5


def test_two_workers_end_identical_and_equal_to_one_process(tmp_path):
    export = tmp_path / "model"
    results = distributed.launch_local_cluster(
        "tflab.distributed:multi_worker_train", workers=2, args=(20, str(export)), timeout=300,
        env=ENV)
    w0, w1 = ([np.array(w) for w in r.value["weights"]] for r in results)
    assert all(np.array_equal(a, b) for a, b in zip(w0, w1))
    single = [np.array(w) for w in distributed.single_process_train(20)["weights"]]
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(w0, single)) < 1e-5
    assert (export / "saved_model.pb").is_file()  # the chief's export
    assert not list(tmp_path.glob("tflab_worker_*"))


def test_parameter_server_training_finishes_with_a_worker_killed():
    (chief, *others) = distributed.launch_local_cluster(
        "tflab.distributed:parameter_server_train", workers=2, ps=1, args=(200, 50),
        timeout=300, env=ENV)
    assert chief.task_type == "chief" and chief.value["steps"] == 200
    assert chief.value["accuracy"] > 0.9
    killed = chief.value["killed_worker_pid"]
    assert killed in [r.pid for r in others if r.task_type == "worker"]
    assert not any(alive(r.pid) for r in [chief, *others])


def test_every_node_verifies_the_model_checksum(tmp_path):
    from tflab import serving

    export = tmp_path / "model"
    distributed.launch_local_cluster("tflab.distributed:multi_worker_train", workers=2,
                                     args=(20, str(export), "mnist"), timeout=300, env=ENV)
    digest = serving.folder_sha256(export)
    results = distributed.launch_local_cluster("tflab.distributed:score_shared_model",
                                               workers=2, args=(str(export), digest),
                                               timeout=300, env=ENV)
    assert all(r.value["accuracy"] > 0.5 for r in results)
    with pytest.raises(distributed.ClusterError, match="refusing to use this copy"):
        distributed.launch_local_cluster("tflab.distributed:score_shared_model", workers=2,
                                         args=(str(export), "0" * 64), timeout=300, env=ENV)


def test_mnist_on_two_workers_exports_a_model_lesson_5_can_score(tmp_path):
    from tflab import data, serving

    export = tmp_path / "mnist"
    results = distributed.launch_local_cluster(
        "tflab.distributed:multi_worker_train", workers=2, args=(100, str(export), "mnist"),
        timeout=300, env=ENV)
    assert results[0].value["weights"] == results[1].value["weights"]
    with serving.load(export, scope="block") as model:
        validation = data.mnist(flatten=True).validation
        scores = serving.score_batched(model, validation.images)
    assert np.mean(scores.argmax(1) == validation.labels) > 0.8


def test_time_to_a_target_accuracy_is_recorded():
    result = distributed.single_process_train(100, target_accuracy=0.9)
    assert result["seconds_to_target"] is not None and result["seconds_to_target"] > 0
    assert distributed.single_process_train(10, target_accuracy=1.01)["seconds_to_target"] is None
