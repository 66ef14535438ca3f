"""Interruptions of a real training process: SIGKILL at several moments leaves the last checkpoint
whole, and --resume reaches the very weights and optimizer state of an uninterrupted run; Ctrl-C
saves a checkpoint first and exits with status 130.

Every run is a real ``python -m emovae.cli train`` process on a tiny configuration (hidden 16,
dense 8) over 5 real files per emotion copied into tmp_path, all with one thread
(``OMP_NUM_THREADS=1``: the same arithmetic in every process, and no thread waiting for a
sibling on a busy 2-core machine)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from emovae.atomic import stale_temporaries
from emovae.checkpoint import load_model

EPOCHS = 6
PNG_END = b"IEND\xaeB`\x82"


def train_argv(data: Path, out: Path, *extra) -> list[str]:
    return [
        sys.executable,
        "-m",
        "emovae.cli",
        "train",
        "--data",
        str(data),
        "--out",
        str(out),
        "--epochs",
        str(EPOCHS),
        "--hidden",
        "16",
        "--dense",
        "8",
        "--batch-size",
        "8",
        "--checkpoint-every",
        "2",
        "--log-every",
        "3",
        "--device",
        "cpu",
        "--quiet",
        *extra,
    ]


def env() -> dict:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def data(data_root, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny_data")
    for label in ("e1", "e2", "e3", "e4"):
        (root / label).mkdir()
        for f in sorted((data_root / label).glob("*.mid"))[:5]:
            shutil.copy(f, root / label / f.name)
    return root


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory) -> dict:
    """The uninterrupted run's final checkpoint (raw payload)."""
    out = tmp_path_factory.mktemp("reference") / "run"
    proc = subprocess.run(train_argv(data, out), capture_output=True, text=True, env=env(), timeout=300)
    assert proc.returncode == 0, proc.stderr
    return torch.load(out / "checkpoint.pt", weights_only=True)


def signature(path: Path):
    try:
        st = path.stat()
        return st.st_ino, st.st_mtime_ns
    except FileNotFoundError:
        return None


def start_and_wait(data: Path, out: Path, checkpoints: int, extra_wait: float = 0.0) -> subprocess.Popen:
    """Start a training process and return once ``checkpoints`` distinct checkpoint files have
    appeared (each atomic write makes a new file), ``extra_wait`` seconds later."""
    # Ctrl-C's default action in the child even where this suite runs as a background job (which ignores SIGINT)
    proc = subprocess.Popen(
        train_argv(data, out),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen, deadline = [], time.time() + 240
    while len(seen) < checkpoints:
        sig = signature(out / "checkpoint.pt")
        if sig is not None and sig not in seen:
            seen.append(sig)
            continue
        assert proc.poll() is None, f"the run ended before its checkpoint {len(seen) + 1}: {proc.communicate()}"
        assert time.time() < deadline, "no checkpoint appeared"
        time.sleep(0.002)
    if extra_wait:
        time.sleep(extra_wait)
    return proc


def assert_whole(out: Path) -> int:
    """Everything in the run folder is whole: the checkpoint loads, history.json parses, every
    latent PNG is complete. Returns the checkpoint's epoch."""
    ckpt = load_model(out / "checkpoint.pt")
    assert 2 <= ckpt.epoch < EPOCHS and len(ckpt.history) == ckpt.epoch
    if (out / "history.json").exists():
        assert len(json.loads((out / "history.json").read_text())) <= ckpt.epoch
    for png in (out / "latent").glob("*.png") if (out / "latent").is_dir() else []:
        assert png.read_bytes().endswith(PNG_END), png
    return ckpt.epoch


def resume(data: Path, out: Path) -> dict:
    argv = [
        sys.executable,
        "-m",
        "emovae.cli",
        "train",
        "--data",
        str(data),
        "--out",
        str(out),
        "--resume",
        "--log-every",
        "3",
        "--device",
        "cpu",
        "--quiet",
    ]  # the stored run's settings apply (--log-every is not one)
    proc = subprocess.run(argv, capture_output=True, text=True, env=env(), timeout=300)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr
    assert not stale_temporaries(out), "a killed write's temporary file was left behind"
    return torch.load(out / "checkpoint.pt", weights_only=True)


def assert_same(a, b, where="checkpoint"):
    """Equal to the bit: tensors with torch.equal, dicts and lists element by element."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), where
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for k, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{k}]")
    else:
        assert a == b, where


def assert_same_run(final: dict, reference: dict) -> None:
    assert final["epoch"] == reference["epoch"] == EPOCHS
    assert_same(final["model"], reference["model"], "weights")
    for key in ("optimizer", "shuffle_rng", "noise_rng"):
        assert_same(final["state"][key], reference["state"][key], key)
    drop = lambda rows: [{k: v for k, v in row.items() if k != "seconds"} for row in rows]  # noqa: E731
    assert drop(final["history"]) == drop(reference["history"])


@pytest.mark.parametrize(
    "moment, checkpoints, extra_wait",
    [
        ("right after the 1st checkpoint", 1, 0.0),
        ("right after the 2nd checkpoint", 2, 0.0),
        ("mid-epoch after the 1st checkpoint", 1, 0.15),
    ],
)
def test_sigkill_leaves_the_last_checkpoint_whole_and_resume_is_bit_identical(
    moment, checkpoints, extra_wait, data, reference, tmp_path
):
    out = tmp_path / "run"
    proc = start_and_wait(data, out, checkpoints, extra_wait)
    proc.kill()  # SIGKILL: no handler, no cleanup
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert_whole(out)
    if checkpoints == 1 and not extra_wait:
        # what a SIGKILL during the next atomic writes leaves: half-written temporaries beside the files
        whole = (out / "checkpoint.pt").read_bytes()
        (out / ".checkpoint.pt.k1ll3d0a.tmp").write_bytes(whole[: len(whole) // 3])
        (out / ".history.json.k1ll3d0b.tmp").write_text('[{"epoch": 1,')
        (out / "latent").mkdir(exist_ok=True)
        (out / "latent" / ".epoch_0003.png.k1ll3d0c.tmp").write_bytes(b"\x89PNG\r\n")
        assert len(stale_temporaries(out)) >= 3
        assert_whole(out)
    assert_same_run(resume(data, out), reference)


def test_ctrl_c_saves_a_checkpoint_and_exits_130(data, reference, tmp_path):
    out = tmp_path / "run"
    proc = start_and_wait(data, out, 1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    epoch = assert_whole(out)
    assert (
        err.strip() == f"emovae: interrupted; saved after epoch {epoch} in {out / 'checkpoint.pt'}: continue "
        "with --resume"
    )
    # the checkpoint holds the epoch Ctrl-C ended, even between two regular checkpoints (every 2 epochs)
    assert json.loads((out / "history.json").read_text())[-1]["epoch"] == epoch
    assert_same_run(resume(data, out), reference)
