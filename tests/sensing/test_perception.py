"""Perception: the SNN on swappable backends, energy booking, cube detection, bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neuralbrain.errors import CapabilityError, CheckpointError, ConfigError, ShapeError
from neuralbrain.hardware import make_backend
from neuralbrain.payloads import Detections
from neuralbrain.sensing.events import empty_events, make_events
from neuralbrain.sensing.perception import (
    Config,
    DetectConfig,
    Perception,
    crop_events,
    find_blobs,
    load_weights,
    pixel_to_world,
)
from neuralbrain.sensing.snn.model import SNNConfig, init_params

SNN = SNNConfig()


def _params(seed: int = 0) -> dict[str, np.ndarray]:
    p = init_params(SNN, seed)
    p["conv1.b"] += 0.1
    return p


def _counts(n: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).poisson(0.25, size=(n, 8, 2, 34, 34)).astype(np.float32)


def _module(backend: str, sensor: str, params=None) -> Perception:
    cfg = Config(backend=backend, sensor_backend=sensor)
    m = Perception(cfg, params=params if params is not None else _params())
    m.reset(0)
    return m


def test_swap_backends_same_answers_up_to_quantization_and_energy_in_the_trace():
    x = _counts()
    runs = {}
    for name, (backend, sensor) in {
        "cpu": ("cpu", "cpu"),
        "neuromorphic": ("neuromorphic", "neuromorphic"),
        "in_sensor+neuromorphic": ("neuromorphic", "in_sensor"),
    }.items():
        m = _module(backend, sensor)
        m.ledger.drain()  # the weights' placement
        probs = m.classify(x)
        bookings = {b.op: b.cost for b in m.ledger.drain()}
        runs[name] = (probs, m.last_record["s1"], bookings)
    ref_probs, ref_s1, cpu_book = runs["cpu"]
    assert ref_s1.mean() > 0.01  # the network is actually spiking
    for name, (probs, s1, book) in runs.items():
        # 8-bit weights flip a few threshold crossings, nothing more
        assert np.mean(s1 == ref_s1) > 0.97, name
        assert np.abs(probs - ref_probs).max() < 0.15, name
        assert {"conv1", "conv2", "fc", "neurons"} <= set(book), name
    energy = {k: sum(c.energy_j for c in v[2].values()) for k, v in runs.items()}
    assert energy["in_sensor+neuromorphic"] * 2 < energy["cpu"]
    assert "readout" in runs["in_sensor+neuromorphic"][2] and "input" in cpu_book
    assert "time_steps" in runs["neuromorphic"][2]
    assert cpu_book["time_steps"].energy_j == 0  # the cpu model has no static power
    m = _module("neuromorphic", "in_sensor")
    m.ledger.drain()
    m.classify(x[:1])
    where = {(b.op, b.backend) for b in m.ledger.drain()}
    assert where == {("conv1", "in_sensor"), ("readout", "in_sensor"), ("conv2", "neuromorphic"),
                     ("fc", "neuromorphic"), ("neurons", "neuromorphic"),
                     ("time_steps", "neuromorphic")}


def test_the_same_work_is_priced_by_the_backend_that_does_it():
    """Off-sensor layer 1: events cross the link as AER words, are received as spike events
    and update layer-1 neurons on the sensor backend; layers 2+ update on the main backend."""
    x = _counts(2)
    m = _module("neuromorphic", "cpu")
    m.ledger.drain()
    m.classify(x)
    got = {(b.op, b.backend): b.cost.energy_j for b in m.ledger.drain()}
    cpu, neuro, link = (make_backend(n).energy_table for n in ("cpu", "neuromorphic", "in_sensor"))
    events, steps = float(x.sum()), 2 * SNN.time_steps
    h1, w1 = SNN.conv1_shape
    h2, w2 = SNN.conv2_shape
    n1, n_off = h1 * w1 * SNN.conv1_channels, h2 * w2 * SNN.conv2_channels + SNN.n_classes
    assert got[("readout", "in_sensor")] == pytest.approx(events * 32 * link["link_bit"])
    assert got[("input", "cpu")] == pytest.approx(events * cpu["spike_event"])
    assert got[("neurons", "cpu")] == pytest.approx(n1 * steps * cpu["neuron_update"])
    assert got[("neurons", "neuromorphic")] == pytest.approx(n_off * steps * neuro["neuron_update"])
    assert got[("time_steps", "neuromorphic")] == pytest.approx(steps * neuro["time_step"])
    assert {op for op, _ in got} == {"conv1", "conv2", "fc", "readout", "input", "neurons",
                                     "time_steps"}


def test_backends_that_cannot_price_the_work_are_refused_when_built():
    cases = [
        (dict(link_backend="cpu"), r"link_backend = 'cpu' does not price action 'link_bit'"),
        (dict(backend="rram"), r"backend = 'rram' does not price action 'time_step'"),
        (dict(sensor_backend="rram"), r"sensor_backend = 'rram' does not price action "
                                      r"'spike_event'.*'cpu', 'neuromorphic'\]"),
        (dict(backend="lut"), r"backend = 'lut' cannot run op 'accumulate'"),
    ]
    for fields, message in cases:
        with pytest.raises(CapabilityError, match="module 'Perception': " + message):
            Perception(Config(**fields), params=_params())
    m = _module("neuromorphic", "in_sensor")
    with pytest.raises(CapabilityError, match="sensor_backend = 'lut' cannot run op"):
        m.to_sensor("lut")
    with pytest.raises(CapabilityError, match="backend = 'rram' does not price"):
        m.to("rram")


def test_to_moves_the_off_sensor_layers_and_keeps_results():
    m = _module("neuromorphic", "in_sensor")
    a = m.classify(_counts(2))
    m.to("cpu")
    assert m.backend.name == "cpu" and m.sensor.name == "in_sensor"
    b = m.classify(_counts(2))
    assert np.abs(a - b).max() < 0.15


def test_first_layer_that_does_not_fit_the_pixel_is_a_config_error():
    for snn in (SNNConfig(conv1_kernel=7), SNNConfig(conv1_channels=48)):
        with pytest.raises(ConfigError, match="does not fit the in-sensor pixel"):
            Perception(Config(snn=snn), params=init_params(snn, 0))
    analog = SNNConfig(first_layer="analog")
    with pytest.raises(ConfigError, match="expected 'spiking'"):
        Perception(Config(snn=analog), params=init_params(analog, 0))
    # the same big kernel is fine off-sensor
    big = SNNConfig(conv1_kernel=7)
    Perception(Config(backend="cpu", sensor_backend="cpu", snn=big), params=init_params(big, 0))


def test_bad_events_and_empty_streams():
    m = _module("neuromorphic", "in_sensor")
    info = {}
    assert m.step({"obs": empty_events(), "info": info}) == {"detections": Detections(())}
    outside = make_events(x=[3, 60], y=[3, 3], t=[0, 10], p=[1, 1])
    with pytest.raises(ShapeError, match="x=60, expected 0..33"):
        m.step({"obs": outside, "info": info})
    with pytest.raises(ShapeError, match="expected 'image'"):
        m.step({"obs": {"rgb": 1}, "info": info})
    with pytest.raises(ShapeError, match=r"expected \(B, \*\(8, 2, 34, 34\)\)"):
        m.classify(np.zeros((1, 8, 2, 30, 30)))


def test_weights_file_errors(tmp_path):
    with pytest.raises(CheckpointError, match="do not exist"):
        load_weights(tmp_path / "none.npz", SNN)
    np.savez(tmp_path / "w.npz", **init_params(SNNConfig(conv1_channels=8), 0))
    with pytest.raises(CheckpointError, match=r"conv1.w is \(32, 8\), expected \(32, 16\)"):
        load_weights(tmp_path / "w.npz", SNN)


def _square_events(centres, side=20, size=96, seed=0):
    """Events on the outlines and a cross inside squares, as a DVS sees moving cubes."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for cx, cy in centres:
        h = side // 2
        for _ in range(8):
            xs += list(range(cx - h, cx + h)) * 2 + [cx - h] * side + [cx + h - 1] * side
            ys += [cy - h] * side + [cy + h - 1] * side + list(range(cy - h, cy + h)) * 2
            xs += list(range(cx - 5, cx + 5))
            ys += [cy] * 10
    n = len(xs)
    t = np.sort(rng.integers(0, 300_000, n))
    return make_events(x=np.array(xs), y=np.array(ys), t=t, p=rng.integers(0, 2, n)), size


def test_blobs_crops_and_detections():
    ev, size = _square_events([(25, 30), (70, 60)])
    det = DetectConfig(min_size_px=10, max_size_px=40)
    blobs = find_blobs(ev, (size, size, 2), det)
    assert len(blobs) == 2
    (u0, v0, s0), (u1, v1, _) = sorted(blobs)
    assert abs(u0 - 24.5) <= 1.5 and abs(v0 - 29.5) <= 1.5 and abs(u1 - 69.5) <= 1.5
    crop = crop_events(ev, (u0, v0, s0), 1.0)
    assert crop.size and crop["x"].max() <= 33 and crop["y"].max() <= 33
    inner = crop_events(ev, (u0, v0, s0), 1.0, edge_frac=0.2)
    assert 0 < inner.size < crop.size  # the outline is dropped, the cross is kept
    cfg = Config(sensor_width=size, sensor_height=size, detect=det)
    m = Perception(cfg, params=_params())
    m.reset(0)
    out = m.step({"obs": ev, "info": {}})["detections"]
    assert len(out.cubes) == 2 and out.tray is None
    for d in out.cubes:
        assert 0 <= d.digit <= 9 and 0 < d.confidence <= 1 and d.world is None
    # deterministic: the same input gives the same detections
    m.reset(0)
    assert m.step({"obs": ev, "info": {}})["detections"] == out


def test_pixel_to_world_matches_the_env_camera():
    camera = pytest.importorskip("neuralbrain_envs.camera")
    cam = camera.overhead_camera((0.55, 0.0), 1.8, 0.7, 128, 128)
    info = {"view_matrix": cam.view, "projection_matrix": cam.projection}
    for u, v, z in ((10.0, 20.0, 0.0), (64.0, 64.0, 0.65), (120.0, 3.0, 0.7)):
        want = cam.pixel_to_world(np.array([u, v]), z)
        got = pixel_to_world(u, v, info, (128, 128, 2), z)
        np.testing.assert_allclose(got, want, atol=1e-9)
    with pytest.raises(ShapeError, match="16 numbers"):
        pixel_to_world(1, 1, {"view_matrix": [1, 2], "projection_matrix": [1]}, (8, 8, 2), 0)


def test_config_validation():
    with pytest.raises(ConfigError, match="edge_frac"):
        DetectConfig(edge_frac=0.7)
    with pytest.raises(ConfigError, match="window_us"):
        dataclasses.replace(Config(), window_us=0.0)
    assert make_backend("in_sensor").name == "in_sensor"


def test_distinct_reading_gives_each_cube_a_different_digit():
    from neuralbrain.sensing.perception import distinct_reading

    probs = np.full((3, 10), 0.01)
    probs[0, 3], probs[1, 3], probs[1, 8], probs[2, 5] = 0.95, 0.6, 0.3, 0.9
    assert np.argmax(probs, axis=1).tolist() == [3, 3, 5]  # two cubes read as 3 alone
    assert distinct_reading(probs).tolist() == [3, 8, 5]  # the less sure one takes its 2nd
    many = np.random.default_rng(0).dirichlet(np.ones(10), size=12)  # more cubes than digits
    assert distinct_reading(many).tolist() == np.argmax(many, axis=1).tolist()
