"""tflab.cluster (local clusters that always clean up) and lesson 09's training: the notebook's
scripts and tflab.distributed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from tflab import cluster, distributed, models, source

HERE = Path(__file__).resolve().parent
ENV = {"PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
NOTEBOOK = HERE.parent / "notebooks" / "09_distributed_training.ipynb"


@pytest.fixture(scope="module")
def scripts(tmp_path_factory):
    """The notebook's %%writefile scripts (its one copy of the training step), in a temp folder."""
    folder = tmp_path_factory.mktemp("lesson09")
    written = source.write_notebook_scripts(NOTEBOOK, folder)
    assert {p.name for p in written} == {"lesson09_train.py", "mirrored.py", "fit_tf_keras.py",
                                         "sharded.py"}
    return folder


@pytest.fixture(scope="module")
def lesson(scripts):
    sys.path.insert(0, str(scripts))
    try:
        import lesson09_train
        yield lesson09_train
    finally:
        sys.path.remove(str(scripts))
        sys.modules.pop("lesson09_train", None)


def max_difference(a, b) -> float:
    return max(float(np.max(np.abs(np.array(u) - np.array(v)))) for u, v in zip(a, b))


def worker_folders(folder: Path) -> list[Path]:
    """The temporary folders lesson 09's non-chief workers export to, left in ``folder``."""
    return list(folder.glob("tflab_worker_*"))


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # orphans are reaped by process 1, which in a container may never do it
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc here: the process exists
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(condition, what: str, seconds: float = 120.0) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after a generous ``seconds``
    (a guard against hanging, not a timing check)."""
    for _ in range(int(seconds * 10)):
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"still not true after {seconds:g} s: {what}")


def kill_group(pid: int) -> None:
    """SIGKILL ``pid`` and its process group if it still runs (tests' own cleanup)."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def test_launcher_runs_the_target_in_every_worker_and_cleans_up(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the launcher keeps its logs
    results = cluster.launch_local_cluster("cluster_targets:answer", workers=2, args=(7,),
                                           timeout=120, env=ENV)
    assert [(r.task_type, r.index, r.returncode) for r in results] == [("worker", 0, 0),
                                                                       ("worker", 1, 0)]
    assert all(r.value["x"] == 7 for r in results)
    assert not any(alive(r.pid) for r in results)
    assert not list(tmp_path.iterdir())  # its folder of logs and results is gone


def test_tasks_make_their_temporary_folders_under_the_tmpdir_they_are_given(tmp_path):
    """What lets the chief-only export test see the workers' temporary folders."""
    folder = tmp_path / "tasks"
    folder.mkdir()
    results = cluster.launch_local_cluster("cluster_targets:make_worker_folder", workers=2,
                                           timeout=120, env={**ENV, "TMPDIR": str(folder)})
    made = sorted(Path(r.value) for r in results)
    assert made == sorted(worker_folders(folder)) and len(made) == 2


def test_pythonpath_puts_a_folder_on_the_tasks_import_path(tmp_path):
    (tmp_path / "written_here.py").write_text("def hello(name):\n    return f'hello {name}'\n")
    results = cluster.launch_local_cluster("written_here:hello", workers=2, args=("you",),
                                           timeout=120, pythonpath=[tmp_path])
    assert [r.value for r in results] == ["hello you", "hello you"]
    with pytest.raises(TypeError, match="pythonpath must be a list of folders"):
        cluster.launch_local_cluster("written_here:hello", pythonpath=str(tmp_path))
    with pytest.raises(ValueError, match="pythonpath must list existing folders"):
        cluster.launch_local_cluster("written_here:hello", pythonpath=[tmp_path / "nope"])


def test_notebook_scripts_need_a_folder_and_a_writefile_cell(tmp_path):
    with pytest.raises(ValueError, match="folder must be an existing folder"):
        source.write_notebook_scripts(NOTEBOOK, tmp_path / "missing")
    plain = HERE.parent / "notebooks" / "00_getting_started.ipynb"
    with pytest.raises(ValueError, match="has no %%writefile cell"):
        source.write_notebook_scripts(plain, tmp_path)


def test_a_crashing_worker_stops_the_whole_cluster():
    with pytest.raises(cluster.ClusterError, match="worker:1 failed") as info:
        cluster.launch_local_cluster("cluster_targets:crash_on_worker_1", workers=2,
                                     timeout=120, env=ENV)
    assert "fails on purpose" in str(info.value)
    assert not any(alive(r.pid) for r in info.value.results)


def test_a_timeout_stops_every_task():
    with pytest.raises(cluster.ClusterError, match="did not finish within 3 s") as info:
        cluster.launch_local_cluster("cluster_targets:sleep_forever", workers=2, ps=1,
                                     timeout=3, env=ENV)
    assert {r.task_type for r in info.value.results} == {"chief", "worker", "ps"}
    assert not any(alive(r.pid) for r in info.value.results)


LAUNCHER = """
import sys
from tflab import cluster
cluster.launch_local_cluster("cluster_targets:report_and_sleep", workers=2,
                             args=(sys.argv[1],), timeout=3600)
"""


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_tasks_their_children_and_every_temporary_folder_go_with_a_killed_launcher(tmp_path,
                                                                                   how):
    """A launcher killed (a notebook kernel restarted) leaves no task serving, no child of a
    task, no folder of its own and none a task made under the TMPDIR it was given."""
    reports, temp = tmp_path / "pids", tmp_path / "tmp"
    reports.mkdir()
    temp.mkdir()
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(reports)],
                                env=dict(os.environ, **ENV, TMPDIR=str(temp)),
                                start_new_session=True)
    pids: list[int] = []
    try:
        wait_until(lambda: len(list(reports.glob("*.pid"))) == 4,
                   "both tasks and their children started")
        pids = [int(p.stem) for p in reports.glob("*.pid")]
        made = {Path(p.read_text()) for p in reports.glob("*.pid")}
        assert len(made) == 2 and all(m.is_dir() and temp in m.parents for m in made)
        assert all(alive(pid) for pid in pids)
        launcher.send_signal(how)
        assert launcher.wait(timeout=120) == -how
        wait_until(lambda: not any(alive(pid) for pid in pids), "every task process is gone")
        wait_until(lambda: not list(temp.iterdir()), f"{temp} is empty")
    finally:
        for pid in pids + [launcher.pid]:
            kill_group(pid)
        launcher.wait()


def start_task(**popen) -> subprocess.Popen:
    """One task as the launcher starts it (``python -m tflab.cluster run``), sleeping."""
    return subprocess.Popen([sys.executable, "-m", "tflab.cluster", "run",
                             "cluster_targets:sleep_forever", os.devnull, "[]"],
                            env=dict(os.environ, **ENV), start_new_session=True, **popen)


def test_a_task_exits_when_the_pipe_from_its_launcher_closes():
    """The portable watchdog: the launcher holds the write end of each task's stdin."""
    task = start_task(stdin=subprocess.PIPE)
    try:
        task.stdin.close()
        assert task.wait(timeout=120) == -signal.SIGKILL
    finally:
        kill_group(task.pid)
        task.wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_a_task_dies_with_its_parent_even_while_its_pipe_stays_open(tmp_path):
    """Linux's parent-death signal: here the test, not the dead parent, holds the pipe."""
    parent_code = ("import json, subprocess, sys, time\n"
                   "task = subprocess.Popen([sys.executable, '-m', 'tflab.cluster', 'run', "
                   "'cluster_targets:report_and_sleep', sys.argv[1], json.dumps(sys.argv[2:])], "
                   "start_new_session=True)\n"
                   "print(task.pid, flush=True)\n"
                   "time.sleep(3600)\n")
    read, write = os.pipe()
    parent = subprocess.Popen([sys.executable, "-c", parent_code, os.devnull, str(tmp_path)],
                              stdin=read, stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, **ENV), start_new_session=True)
    os.close(read)
    task = None
    try:
        task = int(parent.stdout.readline())
        wait_until(lambda: len(list(tmp_path.glob("*.pid"))) == 2, "the task is running")
        parent.kill()
        parent.wait()
        wait_until(lambda: not alive(task), "the task is gone")
    finally:
        os.close(write)
        for pid in [parent.pid] + [task] * bool(task):
            kill_group(pid)  # the task's group holds the child it started
        parent.wait()


def test_a_task_killed_while_writing_its_result_is_named_with_its_log():
    with pytest.raises(cluster.ClusterError, match=r"worker:\d failed \(exit -9\)") as info:
        cluster.launch_local_cluster("cluster_targets:die_while_writing_result", workers=2,
                                     timeout=120, env=ENV)
    assert "about to be killed while writing" in str(info.value)
    assert [r.value for r in info.value.results] == [None, None]


@pytest.mark.parametrize("target, problem", [
    ("exit_with_garbled_result", "wrote an unreadable result"),
    ("exit_without_result", "exited without writing a result")])
def test_a_task_that_exits_0_without_a_readable_result_is_named(target, problem):
    with pytest.raises(cluster.ClusterError, match=rf"worker:0 {problem}") as info:
        cluster.launch_local_cluster(f"cluster_targets:{target}", workers=1, timeout=120,
                                     env=ENV)
    assert [r.returncode for r in info.value.results] == [0]


def test_a_dead_parameter_server_ends_the_run_at_once():
    """At once: the error names ps:0, where waiting would end in the timeout's message."""
    with pytest.raises(cluster.ClusterError, match=r"parameter server ps:0 exited") as info:
        cluster.launch_local_cluster("cluster_targets:kill_parameter_server", workers=1, ps=1,
                                     timeout=120, env=ENV)
    assert not any(alive(r.pid) for r in info.value.results)


def test_a_lost_worker_is_survivable_but_losing_every_worker_ends_the_run():
    (chief, *others) = cluster.launch_local_cluster("cluster_targets:kill_worker_1_and_finish",
                                                    workers=2, ps=1, timeout=120, env=ENV)
    killed = next(r for r in others if r.pid == chief.value)
    assert (killed.task_type, killed.index, killed.returncode) == ("worker", 1, -9)
    with pytest.raises(cluster.ClusterError, match="every worker has exited") as info:
        cluster.launch_local_cluster("cluster_targets:kill_every_worker", workers=2, ps=1,
                                     timeout=120, env=ENV)
    assert not any(alive(r.pid) for r in info.value.results)


def test_cluster_addresses_are_loopback_and_distinct():
    ports = cluster.free_ports(5)
    assert len(set(ports)) == 5
    results = cluster.launch_local_cluster("tflab.cluster:tf_config", workers=2,
                                           timeout=120, env=ENV)
    spec = results[0].value["cluster"]
    addresses = [a for task in spec.values() for a in task]
    assert all(a.startswith("127.0.0.1:") for a in addresses) and len(set(addresses)) == 2
    with pytest.raises(ValueError, match="module:function"):
        cluster.launch_local_cluster("nothing", workers=1)


def test_mirrored_strategy_equals_one_device_with_the_loop_and_with_fit(scripts):
    out = subprocess.run([sys.executable, str(scripts / "mirrored.py")], capture_output=True,
                         text=True, check=True, timeout=300).stdout.strip().splitlines()[-1]
    result = json.loads(out)
    assert len(result["devices"]) == 2 and result["replicas"] == 2
    assert result["loop"] < 1e-5 and result["fit"] < 1e-5 and result["fit_vs_loop"] < 1e-5


def test_two_workers_end_identical_equal_to_one_process_and_to_tf_keras_fit(scripts, lesson,
                                                                            tmp_path):
    import tensorflow as tf

    export, tasks_tmp = tmp_path / "model", tmp_path / "tasks"
    tasks_tmp.mkdir()
    results = cluster.launch_local_cluster(
        "lesson09_train:worker", workers=2, args=(10, str(export)), timeout=300,
        pythonpath=[scripts], env={"TMPDIR": str(tasks_tmp)})  # where workers make temp folders
    w0, w1 = (r.value["weights"] for r in results)
    assert max_difference(w0, w1) == 0
    single = lesson.train(tf.distribute.get_strategy(), 10).get_weights()
    assert max_difference(w0, single) < 1e-5
    assert (export / "saved_model.pb").is_file()  # the chief's export
    assert not worker_folders(tasks_tmp)  # worker 1's export was deleted
    # Keras 2's fit on two workers, from the same initial weights: the loop's result
    initial = [w.tolist() for w in lesson.build_model(lesson.load("toy")[2]).get_weights()]
    keras2 = cluster.launch_local_cluster("fit_tf_keras:worker", workers=2,
                                          args=(10, initial), timeout=300,
                                          pythonpath=[scripts])
    k0, k1 = (r.value["weights"] for r in keras2)
    assert max_difference(k0, k1) == 0 and max_difference(k0, w0) < 1e-5


def test_keras_stays_keras_3_in_the_kernel_while_workers_use_tf_keras(lesson):
    import keras

    assert keras.__version__.startswith("3.") and "TF_USE_LEGACY_KERAS" not in os.environ
    assert "import tf_keras as keras" in (Path(lesson.__file__).parent
                                          / "fit_tf_keras.py").read_text()


def test_the_step_callback_is_called_once_per_step(lesson):
    import tensorflow as tf

    seen = []
    model = lesson.train(tf.distribute.get_strategy(), 30, on_step=lambda i, m: seen.append(i))
    assert seen == list(range(30)) and lesson.accuracy(model) > 0.8
    with pytest.raises(ValueError, match="problem must be 'toy' or 'mnist'"):
        lesson.load("cifar")


def test_parameter_server_training_finishes_with_a_worker_killed():
    (chief, *others) = cluster.launch_local_cluster(
        "tflab.distributed:parameter_server_train", workers=2, ps=1, args=(200, 50),
        timeout=300, env=ENV)
    assert chief.task_type == "chief" and chief.value["steps"] == 200
    assert chief.value["steps_before_kill"] == 50  # the rest ran after worker 1 was dead
    assert any("Worker /job:worker/replica:0/task:1 failed with" in line
               for line in chief.log.splitlines())  # the coordinator saw the failure
    assert chief.value["accuracy"] > 0.9
    killed = chief.value["killed_worker_pid"]
    assert killed in [r.pid for r in others if r.task_type == "worker"]
    assert not any(alive(r.pid) for r in [chief, *others])


def test_mnist_on_two_workers_exports_a_model_lesson_5_can_score_and_every_node_verifies(
        scripts, tmp_path):
    from tflab import data, files, registry

    export = tmp_path / "mnist"
    results = cluster.launch_local_cluster(
        "lesson09_train:worker", workers=2, args=(100, str(export), "mnist"), timeout=300,
        pythonpath=[scripts])
    assert max_difference(results[0].value["weights"], results[1].value["weights"]) == 0
    validation = data.mnist(flatten=True).validation
    with registry.load(export, scope="block") as model:
        accuracy = models.accuracy(model.predict, *validation)
    assert accuracy > 0.8
    digest = files.folder_sha256(export)
    scored = cluster.launch_local_cluster("tflab.distributed:score_shared_model",
                                          workers=2, args=(str(export), digest),
                                          timeout=300, env=ENV)
    assert [r.value["accuracy"] for r in scored] == pytest.approx([accuracy] * 2, abs=1e-6)
    with pytest.raises(cluster.ClusterError, match="refusing to use this copy"):
        cluster.launch_local_cluster("tflab.distributed:score_shared_model", workers=2,
                                     args=(str(export), "0" * 64), timeout=300, env=ENV)


def test_parameter_server_train_names_a_bad_kill_step():
    for bad in (0, 200, 250):
        with pytest.raises(ValueError, match="kill_worker_at must be between 1 and steps - 1"):
            distributed.parameter_server_train(200, bad)


def test_sharded_variables_land_where_exercise_09_2_says(scripts):
    """The notebook's sharded model on 2 parameter servers with max_shards=3 (not the notebook's
    2): each piece's rows and server follow the three rules the exercise checker applies."""
    from tflab.exercises import lesson09

    min_bytes, max_shards = 1 << 20, 3
    chief, *_ = cluster.launch_local_cluster("sharded:coordinator", workers=1, ps=2,
                                             args=(min_bytes, max_shards), timeout=300,
                                             pythonpath=[scripts])
    layout = chief.value["layout"]
    shapes = [tuple(variable["shape"]) for variable in layout.values()]
    assert [len(v["pieces"]) for v in layout.values()] == [3, 1, 1]
    assert [p["shape"][0] for p in layout["table"]["pieces"]] == [33_334, 33_334, 33_333]
    held = [0, 0]
    for variable in layout.values():
        for piece in variable["pieces"]:
            held[piece["ps"]] += 4 * int(np.prod(piece["shape"]))
    assert held == lesson09._held(shapes, 2, min_bytes, max_shards)
    # the step's rows 3, 7 (piece 0) and 60,001 (piece 1); piece 2, also on ps 0, unchanged
    assert chief.value["changed_rows"] == {"ps 0": [3, 7], "ps 1": [60_001]}
