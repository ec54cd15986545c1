"""The ``listener`` books its readout's work in its ledger (the rows the runner writes to the
trace): the softmax readout's products on the listener's backend as ``readout``, an SVM
readout's decisions on the SVM's own backend as ``svm``; summed by backend, the bookings equal
what each device counted."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import pytest

from neuralbrain.config import load_config
from neuralbrain.core import Trained
from neuralbrain.errors import CheckpointError
from neuralbrain.memory.listener import Config, Listener
from neuralbrain.sensing.readers import read_wav
from neuralbrain.tasks import TASKS
from tests.conftest import data_root_or_skip

CONFIGS = Path(__file__).resolve().parents[2] / "agents" / "configs"
READOUTS = {  # readout overrides of lsm_fsdd_debug -> the (op, backend) row its work lands on
    "logistic": ((), ("readout", "cpu")),
    "svm_fpga": (("readout.type=svm", "readout.backend=fpga"), ("svm", "fpga")),
    "speaker_norm": (('readout.speaker_norm="meanvar"',), ("readout", "cpu")),
}


@pytest.fixture(scope="module", params=sorted(READOUTS))
def trained(request, tmp_path_factory):
    fsdd = data_root_or_skip("fsdd")
    overrides, row = READOUTS[request.param]
    cfg = load_config(CONFIGS / "lsm_fsdd_debug.toml", list(overrides))
    out = tmp_path_factory.mktemp(request.param)
    TASKS.get(cfg.task).train(cfg, out, fsdd.parent, resume=False)
    return Trained(cfg, out), row, fsdd


def test_a_spoken_request_books_the_readout_where_it_ran(trained):
    spec, (op, backend), fsdd = trained
    listener = Listener(Config(backend="rram"), {}, spec)
    listener.reset(0)
    _, audio = read_wav(fsdd / "recordings" / "3_jackson_0.wav")  # a held-out take
    assert listener.step({"obs": {"audio": audio}})["heard"] in range(10)
    booked = {(b.op, b.backend): b.cost for b in listener.ledger.drain()}
    assert booked[(op, backend)].energy_j > 0, sorted(booked)
    assert booked[("lif_reservoir", "rram")].energy_j > 0
    if spec.task.params.readout.speaker_norm != "none":  # the user's statistics: one utterance
        assert listener.user_norm.n == pytest.approx(10 + 1)
    other = next(r for _, r in READOUTS.values() if r != (op, backend))
    assert other not in booked  # each row names the work that was done
    by_backend: dict[str, list[float]] = defaultdict(list)
    for (_, name), cost in booked.items():
        by_backend[name].append(cost.energy_j)
    counted: dict[str, list[float]] = defaultdict(list)
    for device in listener.devices():
        counted[device.name].append(device.spent.energy_j)
    assert set(by_backend) == set(counted)
    for name in counted:
        assert math.fsum(by_backend[name]) == pytest.approx(math.fsum(counted[name]), rel=1e-9)


REFITS = ("readout.type=svm", "readout.backend=fpga", 'readout.speaker_norm="meanvar"',
          "readout.self_train=0.75", "readout.self_train_every=2")


@pytest.fixture(scope="module")
def refitting(tmp_path_factory):
    fsdd = data_root_or_skip("fsdd")
    cfg = load_config(CONFIGS / "lsm_fsdd_debug.toml", list(REFITS))
    out = tmp_path_factory.mktemp("refits")
    TASKS.get(cfg.task).train(cfg, out, fsdd.parent, resume=False)
    return Trained(cfg, out), fsdd


def _hear(listener, fsdd, takes):
    """One episode per take; the readings and each episode's bookings, which must sum by
    backend to what the devices counted in that episode."""
    heard, rows = [], set()
    for digit, take in takes:
        listener.reset(0)
        _, audio = read_wav(fsdd / "recordings" / f"{digit}_jackson_{take}.wav")
        heard.append(listener.step({"obs": {"audio": audio}})["heard"])
        by_backend: dict[str, float] = defaultdict(float)
        for b in listener.ledger.drain():
            by_backend[b.backend] += b.cost.energy_j
            rows.add((b.op, b.backend) if b.cost.energy_j > 0 else None)
        counted: dict[str, float] = defaultdict(float)
        for device in listener.devices():
            counted[device.name] += device.spent.energy_j
        assert by_backend == pytest.approx(counted, rel=1e-9)
    return heard, rows


def test_the_listener_refits_as_the_user_speaks_and_books_the_refits(refitting):
    spec, fsdd = refitting
    takes = [(3, 0), (5, 0), (8, 0), (3, 1), (5, 1)]
    listener = Listener(Config(backend="cpu"), {}, spec)
    heard, rows = _hear(listener, fsdd, takes)
    assert listener.stream.refits == 2  # before the 3rd and the 5th utterance
    assert listener.stream.readout is not listener.head
    assert listener.stream.readout.device is listener.head.device  # one device counts all
    assert {("readout_fit", "cpu"), ("svm_place", "fpga"), ("svm", "fpga")} <= rows, rows
    # the same user, the same utterances: the same readings (deterministic)
    assert _hear(Listener(Config(backend="cpu"), {}, spec), fsdd, takes)[0] == heard


def test_refits_without_the_training_inputs_are_refused(tmp_path):
    from dataclasses import replace

    fsdd = data_root_or_skip("fsdd")
    plain = load_config(CONFIGS / "lsm_fsdd_debug.toml",
                        ["readout.type=svm", 'readout.speaker_norm="meanvar"'])
    TASKS.get(plain.task).train(plain, tmp_path, fsdd.parent, resume=False)
    refits = plain.replace_params(readout=replace(plain.params.readout, self_train=0.75,
                                                  self_train_every=2))
    with pytest.raises(CheckpointError, match=r"self_train_every = 2 refits .* retrain it"):
        Listener(Config(backend="cpu"), {}, Trained(refits, tmp_path))
