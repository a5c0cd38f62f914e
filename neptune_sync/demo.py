"""``neptune-sync demo``: the whole product in one minute, on 127.0.0.1.

1. logs a training run in **offline** mode (params, metrics, tags, a file, an image series),
2. starts a **store** server (SQLite) and mints a token for the project,
3. ships the offline run with the one-shot ``neptune-sync sync``,
4. logs a second run in **async** mode: the client starts the daemon, which ships it live
   (``run.wait()`` returns once the store has acknowledged every call),
5. reads both runs back **from the store** (``mode="read-only"``) and checks them.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

PROJECT = "demo/mnist"
STEPS = 500


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="log offline, start a store and the daemon, sync, show the result")
    parser.add_argument(
        "--dir", default="demo-data", help="working directory (recreated; default ./demo-data)"
    )
    parser.set_defaults(func=main)


def say(text: str) -> None:
    print(f"\n== {text}", flush=True)


def log_training_run(name: str, seed: int, artifact: Path) -> str:
    """A small Neptune-style training script; returns the run's sys/id."""
    import neptune_sync as neptune

    with neptune.init_run(project=PROJECT, name=name, tags=["demo", name]) as run:
        run["parameters"] = {"lr": 0.01 * seed, "batch_size": 64, "optimizer": {"name": "adam"}}
        train = run["train"]
        for step in range(STEPS):
            loss = math.exp(-step / (100 * seed)) + 0.01 * math.sin(step)
            train["loss"].append(loss, step=step)
            train["accuracy"].append(1.0 - loss / 2, step=step)
            if step % 100 == 0:
                train["log"].append(f"step {step}: loss={loss:.4f}", step=step)
        run["model/checkpoint"].upload(str(artifact))
        run["eval/accuracy"] = 1.0 - math.exp(-STEPS / (100 * seed)) / 2
        run.wait()
        return run["sys/id"].fetch()


def start_store(workdir: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str, str]:
    token_file = workdir / "token"
    cmd = [
        sys.executable,
        "-m",
        "neptune_sync.cli",
        "server",
        "--data",
        str(workdir / "store"),
        "--port",
        "0",
    ]
    cmd += ["--token-project", PROJECT, "--token-file", str(token_file)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    url = proc.stdout.readline().strip()  # the server prints its bound URL once it listens
    if not url.startswith("http"):
        proc.kill()
        raise SystemExit(f"the store did not start (it printed {url!r})")
    return proc, url, token_file.read_text().strip()


def wait_for(proc: subprocess.Popen, seconds: float) -> None:
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def stop_daemon(data_dir: Path) -> None:
    """SIGTERM the daemon the client started (its pid is in the data dir's lock file)."""
    from neptune_sync.wire.daemon import daemon_running, lock_path

    if not daemon_running(data_dir):
        return
    pid = int(lock_path(data_dir).read_text().split()[0])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while daemon_running(data_dir) and time.monotonic() < deadline:
        time.sleep(0.05)


def show_from_store(run_id: str, artifact: Path) -> None:
    import neptune_sync as neptune

    run = neptune.init_run(with_id=run_id, mode="read-only", project=PROJECT)
    params = run["parameters"].fetch()
    losses = run["train/loss"].fetch_values()
    n = len(losses)
    last = run["train/loss"].fetch_last()
    tags = sorted(run["sys/tags"].fetch())
    print(f"  {run_id}: parameters={params}")
    print(f"  {run_id}: train/loss has {n} points, last={last:.4f}; tags={tags}")
    print(f"  {run_id}: eval/accuracy={run['eval/accuracy'].fetch():.4f}")
    if n != STEPS:
        raise SystemExit(f"expected {STEPS} loss points in the store, found {n}")
    copy = artifact.with_name(f"downloaded-{run_id}.bin")
    run["model/checkpoint"].download(str(copy))
    same = copy.read_bytes() == artifact.read_bytes()
    print(f"  {run_id}: model/checkpoint downloaded, {copy.stat().st_size:,} bytes, identical: {same}")
    if not same:
        raise SystemExit("the downloaded file differs from the uploaded one")
    run.stop()


def main(args: argparse.Namespace) -> int:
    workdir = Path(args.dir).resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    env = dict(os.environ, NEPTUNE_SYNC_DIR=str(workdir / "client"), NEPTUNE_PROJECT=PROJECT)
    os.environ.update(
        NEPTUNE_SYNC_DIR=env["NEPTUNE_SYNC_DIR"], NEPTUNE_PROJECT=PROJECT, NEPTUNE_SYNC_NO_DAEMON="1"
    )
    artifact = workdir / "model.bin"
    artifact.write_bytes(os.urandom(256 * 1024))
    cli = [sys.executable, "-m", "neptune_sync.cli"]

    say("1. a training run logged offline (no server anywhere)")
    os.environ["NEPTUNE_MODE"] = "offline"
    offline_id = log_training_run("offline-run", 1, artifact)
    subprocess.run(cli + ["ls"], env=env, check=True)

    say("2. start the store (SQLite) on 127.0.0.1 and mint a token for the project")
    store, url, token = start_store(workdir, env)
    env["NEPTUNE_API_TOKEN"] = os.environ["NEPTUNE_API_TOKEN"] = token
    print(f"  store at {url}; token in {workdir / 'token'}")
    try:
        say("3. one-shot sync of the offline run (what an air-gapped machine does when it reconnects)")
        subprocess.run(cli + ["sync"], env=env, check=True)

        say("4. a run in async mode: the client starts the daemon, run.wait() returns once the store has it")
        os.environ["NEPTUNE_MODE"] = "async"
        del os.environ["NEPTUNE_SYNC_NO_DAEMON"]
        started = time.monotonic()
        async_id = log_training_run("async-run", 2, artifact)
        print(f"  logged and acknowledged by the store in {time.monotonic() - started:.2f} s")
        subprocess.run(cli + ["status"], env=env, check=False)

        say("5. read both runs back from the store (mode='read-only')")
        show_from_store(offline_id, artifact)
        show_from_store(async_id, artifact)
    finally:
        stop_daemon(workdir / "client")
        store.send_signal(signal.SIGTERM)
        wait_for(store, 15)
    say(f"done: data in {workdir} (client logs in client/, the store in store/)")
    return 0
