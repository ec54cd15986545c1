"""In-sensor SNN perception: events -> cubes found, located and read (digit, confidence).

``Perception`` is a ``neuralbrain.core.Module``. Its SNN (``neuralbrain.sensing.snn.model``)
runs its first layer on ``sensor_backend`` (``in_sensor``: the conv and its spiking
nonlinearity inside the pixel array, P2M / Datta et al. ICASSP 2023) and the rest on
``backend`` (``neuromorphic``); both can be ``cpu``. Every product goes through a backend op
and every cost is booked in ``self.ledger`` under one of these ops, with the name of the
backend that did the work (the same action is priced by whichever backend runs it; what each
backend must price is checked when the module is built, see ``requirements``):

- ``place``: storing the weights (free on the pixel array, the neuromorphic core and the cpu);
- ``conv1`` / ``conv2`` / ``fc``: the synaptic products (``accumulate``) of each layer;
- ``neurons``: one ``neuron_update`` per neuron and time step of the layers that run
  off-sensor; in the pixel they are the comparator, already priced by ``in_sensor``'s
  ``accumulate``;
- ``readout``: the bits leaving the camera over the sensor-to-processor link, ``link_bit`` on
  ``link_backend`` (P2M's link energy): ``c1 * H1 * W1`` 1-bit spikes per time step when
  layer 1 runs in the pixel, else every event as an ``aer_bits_per_event`` address-event
  word (32 bits: x, y, polarity, time; an assumption);
- ``input``: one ``spike_event`` per event received where layer 1 runs off-sensor;
- ``time_steps``: one ``time_step`` per time step on ``backend`` (the static power and step
  latency of neuromorphic cores; nothing on the cpu).

Scene pipeline (``step``), for a camera looking down on cubes with digits on their tops:

0. ``obs`` is an event array, or an RGB frame (or a dict holding ``"image"``, as DigitPick's
   observation): the event camera then makes the three N-MNIST saccades over the still frame
   (``SceneSaccade``: the saccade emulator's trajectory and the DVS emulator), and the mean
   saccade offset is removed from the pixel positions it reports;
1. events (``EVENT_DTYPE``) are checked against the sensor size (``ShapeError`` naming the
   first event outside it); an empty stream gives no detections (explicitly ``[]``);
2. the event-count image is smoothed and thresholded (holes filled, so a cube's outline and
   its digit make one blob); connected blobs of at least ``min_blob_events`` events, of size
   in ``[min_size_px, max_size_px]``, roughly square (``max_aspect``) and not cut by the
   image border are cubes;
3. each cube's events inside a square window (``crop_px``, or ``crop_scale`` times the blob
   size) around its centre are mapped onto the 34x34 N-MNIST grid and binned into T time
   steps (polarities swapped if ``invert_polarity``);
4. the SNN reads the digit (softmax confidence);
5. the height of the cube's top face: when the observation has a ``depth`` image (DigitPick:
   float (H, W), height above the table in metres of the surface each pixel sees, on the
   image's pixel grid), the median of it over a square of ``DEPTH_WINDOW_FRAC`` times the
   blob's side around the blob centre (inside the top face, so a centre a few pixels off or
   a neighbour's edge in the window does not move it); None without depth;
6. the pixel centre (u, v) is back-projected through the camera's view and projection
   matrices (``info["view_matrix"]``, ``info["projection_matrix"]``: OpenGL / PyBullet
   column-major 4x4, flattened) onto the plane of that height (the top of a pile stands
   higher than the fixed ``z = plane_z_m`` and, seen in perspective, farther out), or onto
   ``z = plane_z_m`` without depth, to give world xyz.

Detections are ``payloads.Detection`` (digit, confidence, pixel (u, v), world (x, y, z) or
None, top height or None); ``step`` gives them as one ``payloads.Detections``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from neuralbrain.core import Module, Needs, check_requirements
from neuralbrain.errors import CheckpointError, ConfigError, ShapeError
from neuralbrain.hardware import BACKENDS, make_backend
from neuralbrain.hardware.base import Backend
from neuralbrain.npz import read_npz
from neuralbrain.payloads import Detection, Detections
from neuralbrain.sensing.events import check_events
from neuralbrain.sensing.snn.frames import EventCounts
from neuralbrain.sensing.snn.model import SNNConfig, effective_weights, forward, softmax

# Side of the depth window around a blob centre, as a fraction of the blob's side: half the
# blob keeps the window on the top face even when the centre is off by a quarter of a side.
DEPTH_WINDOW_FRAC = 0.5


@dataclass(frozen=True)
class SceneSaccadeConfig:
    """``[perception.saccade]``: how the event camera looks at a still scene."""

    amplitude: float = 1.0  # scale of the N-MNIST saccade triangle (in sensor pixels)
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.amplitude <= 10:
            raise ConfigError(f"saccade.amplitude = {self.amplitude}: expected 0 < a <= 10")


@dataclass(frozen=True)
class SceneSaccade:
    """Frozen transform: one RGB frame -> the events of an event camera making the three
    N-MNIST saccades over it (trajectory and DVS model from ``neuralbrain.sensing``).

    A still scene gives a DVS nothing to see; N-MNIST solved this by moving the camera, and so
    do we: the frame is translated along ``saccade.trajectory`` (scaled by ``amplitude``) and
    rendered every ``frame_dt_s``, and ``neuralbrain.sensing.dvs.DVS`` turns the luminance
    sequence into events, with the saccade emulator's DVS parameters.
    """

    config: SceneSaccadeConfig = field(default_factory=SceneSaccadeConfig)

    def trajectory(self) -> tuple[np.ndarray, np.ndarray]:
        """Frame times (s) and the frame's (dx, dy) offset in pixels at each of them."""
        from neuralbrain.sensing import saccade

        cfg = saccade.Config()
        n = int(round(cfg.duration_s / cfg.frame_dt_s)) + 1
        times = np.arange(n) * cfg.frame_dt_s
        pos = saccade.trajectory(cfg, times)
        return times, (pos - pos[0]) * self.config.amplitude

    def mean_offset_px(self) -> tuple[float, float]:
        """Where, on average, the saccades put the scene: the bias of event centroids."""
        dx, dy = self.trajectory()[1].mean(axis=0)
        return float(dx), float(dy)

    def __call__(self, frame: np.ndarray, seed: int | None = None) -> np.ndarray:
        from neuralbrain.sensing import saccade
        from neuralbrain.sensing.dvs import DVS

        img = np.asarray(frame)
        if img.ndim != 3 or img.shape[2] < 3 or img.dtype != np.uint8:
            raise ShapeError(f"frame shape {img.shape} dtype {img.dtype}: expected (H, W, 3) uint8")
        cfg = saccade.Config()
        times, pos = self.trajectory()
        luma = img[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        frames = translate(luma / 255.0, pos)
        return DVS(cfg.dvs)(frames, times, seed=self.config.seed if seed is None else seed)


def translate(image: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(T, H, W) copies of ``image`` (H, W) moved by ``offsets`` (T, 2) = (dx, dy) pixels,
    bilinear, edges extended (scipy's ``shift(order=1, mode="nearest")``, all frames at once).
    """
    h, w = image.shape
    off = np.asarray(offsets, np.float64)
    ys = np.arange(h)[None, :] - off[:, 1:2]  # (T, H): source row of each output row
    xs = np.arange(w)[None, :] - off[:, 0:1]
    y0 = np.floor(ys)
    x0 = np.floor(xs)
    fy = (ys - y0).astype(np.float32)[:, :, None]
    fx = (xs - x0).astype(np.float32)[:, None, :]
    y0i = np.clip(y0.astype(np.int64), 0, h - 1)
    y1i = np.clip(y0.astype(np.int64) + 1, 0, h - 1)
    x0i = np.clip(x0.astype(np.int64), 0, w - 1)
    x1i = np.clip(x0.astype(np.int64) + 1, 0, w - 1)

    def at(yi: np.ndarray, xi: np.ndarray) -> np.ndarray:
        return image[yi[:, :, None], xi[:, None, :]]

    top = at(y0i, x0i) * (1 - fx) + at(y0i, x1i) * fx
    bottom = at(y1i, x0i) * (1 - fx) + at(y1i, x1i) * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


@dataclass(frozen=True)
class DetectConfig:
    """``[perception.detect]``: how cubes are found in the event image."""

    min_blob_events: int = 40
    min_size_px: int = 6
    max_size_px: int = 200
    smooth_px: float = 1.0
    clip_events: float = 3.0
    threshold_rel: float = 0.1
    max_aspect: float = 1.6
    crop_scale: float = 1.0
    crop_px: int = 0
    edge_frac: float = 0.0
    invert_polarity: bool = True
    plane_z_m: float = 0.0
    keep_cut: bool = False  # keep blobs cut by the image border (a large object, the tray)
    # Scenes whose cubes all show different digits (DigitPick): read the cubes jointly, the
    # assignment of distinct digits with the highest summed log-probability.
    distinct_digits: bool = False

    def __post_init__(self) -> None:
        if self.min_blob_events < 1:
            raise ConfigError(f"detect.min_blob_events = {self.min_blob_events}: expected >= 1")
        if not 1 <= self.min_size_px <= self.max_size_px:
            raise ConfigError(
                f"detect.min_size_px = {self.min_size_px}, max_size_px = {self.max_size_px}: "
                "expected 1 <= min <= max"
            )
        if self.crop_px < 0:
            raise ConfigError(f"detect.crop_px = {self.crop_px}: expected 0 (scale) or > 0")
        if not self.max_aspect >= 1:
            raise ConfigError(f"detect.max_aspect = {self.max_aspect}: expected >= 1")
        if not 0 <= self.edge_frac < 0.5:
            raise ConfigError(f"detect.edge_frac = {self.edge_frac}: expected 0 <= f < 0.5")
        if not self.clip_events > 0:
            raise ConfigError(f"detect.clip_events = {self.clip_events}: expected > 0")
        if self.smooth_px < 0 or not 0 < self.threshold_rel < 1 or self.crop_scale <= 0:
            raise ConfigError(
                "detect.smooth_px >= 0, 0 < detect.threshold_rel < 1 and detect.crop_scale > 0 "
                f"expected (got {self.smooth_px}, {self.threshold_rel}, {self.crop_scale})"
            )


@dataclass(frozen=True)
class Config:
    """``[perception]``: backends, SNN shape, weights, event binning and cube detection."""

    backend: str = "neuromorphic"
    sensor_backend: str = "in_sensor"
    link_backend: str = "in_sensor"
    # ASSUMPTION: one 32-bit AER word per event; its range (12 address bits .. the 40-bit
    # N-MNIST file record) and sources: neuralbrain.sensing.insensor_link.LINK_CONSTANTS
    aer_bits_per_event: int = 32
    weights: str = ""
    window_us: float = 306_000.0
    sensor_width: int = 34
    sensor_height: int = 34
    snn: SNNConfig = field(default_factory=SNNConfig)
    detect: DetectConfig = field(default_factory=DetectConfig)
    saccade: SceneSaccadeConfig = field(default_factory=lambda: SceneSaccadeConfig())

    def __post_init__(self) -> None:
        if not self.window_us > 0:
            raise ConfigError(f"perception.window_us = {self.window_us}: expected > 0")
        if self.aer_bits_per_event < 1:
            raise ConfigError(
                f"perception.aer_bits_per_event = {self.aer_bits_per_event}: expected >= 1"
            )
        if self.sensor_width < 1 or self.sensor_height < 1:
            raise ConfigError(
                f"perception.sensor_width/height = {self.sensor_width}x{self.sensor_height}: "
                "expected >= 1"
            )


def load_weights(path: str | Path, cfg: SNNConfig) -> dict[str, np.ndarray]:
    """Read an ``.npz`` of SNN parameters and check every shape against ``cfg``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"SNN weights {str(path)!r} do not exist: train them first")
    params = {k: np.asarray(v, np.float32)
              for k, v in read_npz(path, "SNN weights").items()}
    for name, (k, n) in cfg.weight_shapes().items():
        for key, shape in ((f"{name}.w", (k, n)), (f"{name}.b", (n,))):
            if key not in params or params[key].shape != shape:
                got = params[key].shape if key in params else "missing"
                raise CheckpointError(
                    f"{path}: {key} is {got}, expected {shape} for the configured SNN"
                )
    return params


class Perception(Module):
    """Cube detection + in-sensor SNN digit reading (see the module docstring)."""

    Config = Config
    inputs = {"obs": object, "info": dict}
    outputs = {"detections": Detections}

    @classmethod
    def requirements(cls, config: Config) -> Mapping[str, Needs]:
        """Layers 2+ on ``backend``; layer 1 on ``sensor_backend`` (in the pixels when that
        backend has ``check_conv``, else fed with the events); the readout on ``link_backend``."""
        sensor = BACKENDS.get(config.sensor_backend or config.backend)
        in_pixel = "check_conv" in sensor.capabilities
        return {
            "backend": Needs(ops={"accumulate"}, actions={"neuron_update", "time_step"}),
            "sensor_backend": Needs(ops={"accumulate"}, actions=set() if in_pixel else
                                    {"spike_event", "neuron_update"}),
            "link_backend": Needs(actions={"link_bit"}),
        }

    def __init__(
        self,
        config: Config,
        hardware: Mapping[str, Any] | None = None,
        params: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        super().__init__(config, hardware)
        self.snn = config.snn
        # the pixel-fit check comes first: a layer that cannot be built is the real error
        self.sensor = self._make_sensor(config.sensor_backend or config.backend)
        if params is None:
            if not config.weights:
                raise CheckpointError(
                    "perception.weights is empty: expected the snn.npz written by `neuralbrain "
                    "train agents/configs/insensor_nmnist.toml --out CK` (or --checkpoint CK)")
            params = load_weights(config.weights, self.snn)
        self.params = {k: np.asarray(v, np.float32) for k, v in params.items()}
        self.counts = EventCounts(self.snn.time_steps, (34, 34, 2), config.window_us)
        self.camera = SceneSaccade(config.saccade)
        self.link = make_backend(config.link_backend, self.hardware.get(config.link_backend))
        self._place()

    @classmethod
    def from_nir(
        cls, path: str | Path, config: Config | None = None,
        hardware: Mapping[str, Any] | None = None,
    ) -> Perception:
        """A module running the SNN of a NIR file (``snn.nir_io``) on ``config``'s backends."""
        from neuralbrain.sensing.snn.nir_io import import_nir

        params, snn = import_nir(path)
        return cls(replace(config or Config(), snn=snn), hardware, params=params)

    # -- backends ------------------------------------------------------------------------
    def _make_sensor(self, name: str) -> Backend:
        backend = make_backend(name, self.hardware.get(name))
        if "check_conv" in backend.capabilities:
            if self.snn.first_layer != "spiking":
                raise ConfigError(
                    f"sensor_backend {name!r} computes a spiking first layer: snn.first_layer "
                    f"= {self.snn.first_layer!r}, expected 'spiking'"
                )
            backend.check_conv(self.snn.conv1_kernel, self.snn.in_channels,
                               self.snn.conv1_channels, self.snn.conv1_stride)
        return backend

    def _place(self) -> None:
        w = effective_weights(self.params, self.snn)
        self.placed = {}
        for layer, backend in (("conv1", self.sensor), ("conv2", self.backend),
                               ("fc", self.backend)):
            self.placed[layer], cost = backend.place(w[layer])
            self.ledger.book("place", cost, backend=backend.name)

    def on_backend_change(self) -> None:
        if not self.config.sensor_backend:
            self.sensor = self._make_sensor(self.backend.name)
        self._place()

    def to_sensor(self, name: str) -> Perception:
        """Move the first layer onto backend ``name`` (``to`` moves the other layers)."""
        check_requirements(type(self).__name__, type(self),
                           replace(self.config, sensor_backend=name))
        self.sensor = self._make_sensor(name)
        self._place()
        return self

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.sensor.reset(seed)
        self.link.reset(seed)

    def devices(self) -> list[Backend]:
        return [self.backend, self.sensor, self.link]

    @property
    def in_pixel(self) -> bool:
        return "check_conv" in self.sensor.capabilities

    # -- booking -------------------------------------------------------------------------
    def _accumulate(self, backend: Backend, op: str, x: np.ndarray, w: Any) -> np.ndarray:
        y, cost = backend.accumulate(x, w)
        self.ledger.book(op, cost, backend=backend.name)
        return y

    def _charge(self, backend: Backend, action: str, count: float, op: str) -> None:
        """Book ``count`` ``action``s on ``backend`` under ``op``."""
        self.ledger.book(op, backend.charge(action, count), backend=backend.name)

    # -- SNN -----------------------------------------------------------------------------
    def classify(self, counts: np.ndarray) -> np.ndarray:
        """Class probabilities for (B, T, 2, 34, 34) counts, run and booked on the backends."""
        snn = self.snn
        ops = {
            "conv1": lambda x, w: self._accumulate(self.sensor, "conv1", x, w),
            "conv2": lambda x, w: self._accumulate(self.backend, "conv2", x, w),
            "fc": lambda x, w: self._accumulate(self.backend, "fc", x, w),
        }
        logits, rec = forward(self.params, counts, snn, ops=ops, weights=self.placed)
        b = logits.shape[0]
        steps = b * snn.time_steps
        h1, w1 = snn.conv1_shape
        h2, w2 = snn.conv2_shape
        n1 = h1 * w1 * snn.conv1_channels
        n_events = float(np.asarray(counts).sum())
        if self.in_pixel:
            self._charge(self.link, "link_bit", n1 * steps, "readout")
        else:
            self._charge(self.link, "link_bit", n_events * self.config.aer_bits_per_event,
                         "readout")
            self._charge(self.sensor, "spike_event", n_events, "input")
            self._charge(self.sensor, "neuron_update", n1 * steps, "neurons")
        n_off = h2 * w2 * snn.conv2_channels + snn.n_classes
        self._charge(self.backend, "neuron_update", n_off * steps, "neurons")
        self._charge(self.backend, "time_step", steps, "time_steps")
        self.last_record = rec
        return softmax(logits)

    # -- scene ---------------------------------------------------------------------------
    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """``obs``: an event array of the configured sensor size, or an RGB frame (or a dict
        with ``"image"``, and optionally ``"depth"``) that the event camera looks at with
        saccades."""
        cubes = self.detect(*self.events(inputs), depth=depth_of(inputs))
        return {"detections": Detections(tuple(cubes))}

    def events(self, inputs: Mapping[str, Any]) -> tuple[np.ndarray, dict, Any, tuple]:
        """(events, info, sensor size or None, the saccades' mean offset in pixels) of a
        step's ``obs``: given events pass through; a frame is looked at with saccades."""
        obs = inputs.get("obs")
        info = inputs.get("info") or {}
        if isinstance(obs, Mapping):
            if "image" not in obs:
                raise ShapeError(f"perception obs has keys {sorted(obs)}: expected 'image'")
            obs = obs["image"]
        obs = np.asarray(obs)
        if obs.dtype.names is not None:
            return obs, info, None, (0.0, 0.0)
        events = self.camera(obs, seed=int(self.rng.integers(2**31)))
        return events, info, (obs.shape[1], obs.shape[0], 2), self.camera.mean_offset_px()

    def detect(
        self,
        events: np.ndarray,
        info: Mapping[str, Any],
        sensor_size: tuple[int, int, int] | None = None,
        offset_px: tuple[float, float] = (0.0, 0.0),
        depth: np.ndarray | None = None,
    ) -> list[Detection]:
        """Detections in one event stream (see the module docstring); ``offset_px`` is the
        camera's mean saccade offset, removed from the reported pixel positions; ``depth``
        (None: none) the height image (H, W) of the sensor's pixels, giving each cube's top
        height and the plane it is projected on."""
        cfg = self.config
        size = sensor_size or (cfg.sensor_width, cfg.sensor_height, 2)
        check_events(events, size, "perception events")
        if depth is not None:
            depth = np.asarray(depth, np.float64)
            if depth.shape != (size[1], size[0]):
                raise ShapeError(f"perception depth shape {depth.shape}: expected (H, W) = "
                                 f"{(size[1], size[0])}, the sensor's pixel grid")
        if events.size == 0:
            return []
        blobs = find_blobs(events, size, cfg.detect)
        if not blobs:
            return []
        crops = []
        for box in blobs:
            sub = crop_events(events, box, cfg.detect.crop_scale, cfg.detect.edge_frac,
                              cfg.detect.crop_px)
            if cfg.detect.invert_polarity:
                # dark ink on a light cube: the opposite contrast of N-MNIST's lit digits
                sub["p"] = 1 - sub["p"]
            crops.append(self.counts(sub))
        probs = self.classify(np.stack(crops))
        digits = np.argmax(probs, axis=1)
        if cfg.detect.distinct_digits:
            digits = distinct_reading(probs)
        out: list[Detection] = []
        for (u, v, side), p, digit in zip(blobs, probs, digits, strict=True):
            digit = int(digit)
            u, v = u - offset_px[0], v - offset_px[1]
            height = None if depth is None else surface_height(depth, u, v, side)
            plane = cfg.detect.plane_z_m if height is None else height
            world = pixel_to_world(u, v, info, size, plane)
            out.append(Detection(digit, float(p[digit]), (float(u), float(v)), world, height))
        return out


def depth_of(inputs: Mapping[str, Any]) -> np.ndarray | None:
    """A step's ``obs["depth"]`` (None when the obs is no dict or has no depth)."""
    obs = inputs.get("obs")
    return obs.get("depth") if isinstance(obs, Mapping) else None


def surface_height(depth: np.ndarray, u: float, v: float, side: float) -> float:
    """The median of ``depth`` (H, W) over the square of side ``DEPTH_WINDOW_FRAC * side``
    (at least one pixel) centred on pixel (u, v), clipped to the image."""
    h, w = depth.shape
    # a blob at the border, less the saccades' mean offset, may centre just outside
    col, row = min(max(int(round(u)), 0), w - 1), min(max(int(round(v)), 0), h - 1)
    r = max(0, int(round(DEPTH_WINDOW_FRAC * side / 2)))
    window = depth[max(0, row - r):row + r + 1, max(0, col - r):col + r + 1]
    return float(np.median(window))


def distinct_reading(probs: np.ndarray) -> np.ndarray:
    """The most probable reading of several cubes known to show different digits:
    ``argmax_{d distinct} sum_i log p_i(d_i)`` (a linear assignment, Kuhn-Munkres). With more
    cubes than classes the constraint cannot hold and each cube keeps its own argmax."""
    from scipy.optimize import linear_sum_assignment

    n, classes = probs.shape
    if n > classes:
        return np.argmax(probs, axis=1)
    rows, cols = linear_sum_assignment(-np.log(np.maximum(probs, 1e-12)))
    digits = np.empty(n, np.int64)
    digits[rows] = cols
    return digits


def find_blobs(
    events: np.ndarray, sensor_size: tuple[int, int, int], cfg: DetectConfig
) -> list[tuple[float, float, float]]:
    """Cube candidates as (u, v, side_px): centres and sizes of event blobs."""
    from scipy import ndimage

    w, h, _ = sensor_size
    img = np.zeros((h, w), np.float32)
    np.add.at(img, (events["y"].astype(np.int64), events["x"].astype(np.int64)), 1.0)
    # clip so a cube's faint outline weighs like its dense digit: the outline gives the box
    clipped = np.minimum(img, cfg.clip_events)
    smooth = ndimage.gaussian_filter(clipped, cfg.smooth_px) if cfg.smooth_px > 0 else clipped
    # a cube's outline encloses its digit: fill it so the two make one blob
    mask = ndimage.binary_fill_holes(smooth > cfg.threshold_rel * float(smooth.max()))
    labels, n = ndimage.label(mask)
    out = []
    for i, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None:
            continue
        region = labels[sl] == i
        count = float(img[sl][region].sum())
        rows, cols = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        side = max(rows, cols)
        if count < cfg.min_blob_events or not cfg.min_size_px <= side <= cfg.max_size_px:
            continue
        if side > cfg.max_aspect * min(rows, cols):
            continue  # a wall or an arm, not a cube's square top
        cut = sl[0].start == 0 or sl[1].start == 0 or sl[0].stop == h or sl[1].stop == w
        if cut and not cfg.keep_cut:
            continue  # cut by the image border: cannot be read whole
        v = (sl[0].start + sl[0].stop - 1) / 2.0
        u = (sl[1].start + sl[1].stop - 1) / 2.0
        out.append((u, v, float(side)))
    return out


def crop_events(
    events: np.ndarray, box: tuple[float, float, float], scale: float, edge_frac: float = 0.0,
    window_px: int = 0,
) -> np.ndarray:
    """Events inside the square ``max(34, scale * side)`` (or exactly ``window_px``) around
    (u, v), mapped onto 34x34.

    The window is never smaller than 34 px so the mapping only shrinks (no empty rows from
    upsampling); a 34 px window maps pixel to pixel, with no aliasing. With ``edge_frac > 0``
    events within ``edge_frac * side`` of the blob's outline are dropped: the cube's own
    edges, which an N-MNIST digit does not have.
    """
    u, v, side = box
    half = (window_px if window_px > 0 else max(scale * side, 34.0)) / 2.0
    x = events["x"].astype(np.float64)
    y = events["y"].astype(np.float64)
    keep = (np.abs(x - u) < half) & (np.abs(y - v) < half)
    if edge_frac > 0:
        inner = side / 2.0 - edge_frac * side
        keep &= (np.abs(x - u) < inner) & (np.abs(y - v) < inner)
    sub = events[keep].copy()
    k = 34.0 / (2.0 * half)
    sub["x"] = np.clip(np.floor((x[keep] - (u - half)) * k), 0, 33).astype(np.int16)
    sub["y"] = np.clip(np.floor((y[keep] - (v - half)) * k), 0, 33).astype(np.int16)
    return sub


def pixel_to_world(
    u: float, v: float, info: Mapping[str, Any], sensor_size: tuple[int, int, int], plane_z: float
) -> tuple[float, float, float] | None:
    """Back-project pixel (u, v) onto the plane z = ``plane_z`` (None without matrices)."""
    view = info.get("view_matrix")
    proj = info.get("projection_matrix")
    if view is None or proj is None:
        return None
    try:
        view_m = np.asarray(view, np.float64).reshape(4, 4).T  # column-major (OpenGL)
        proj_m = np.asarray(proj, np.float64).reshape(4, 4).T
    except ValueError:
        raise ShapeError(
            "info view_matrix / projection_matrix: expected 16 numbers each (4x4, column-major)"
        ) from None
    w, h, _ = sensor_size
    ndc_x = (2.0 * (u + 0.5) / w) - 1.0
    ndc_y = 1.0 - (2.0 * (v + 0.5) / h)
    inv = np.linalg.inv(proj_m @ view_m)
    near = inv @ np.array([ndc_x, ndc_y, -1.0, 1.0])
    far = inv @ np.array([ndc_x, ndc_y, 1.0, 1.0])
    near, far = near[:3] / near[3], far[:3] / far[3]
    d = far - near
    if abs(d[2]) < 1e-12:
        return None
    s = (plane_z - near[2]) / d[2]
    p = near + s * d
    return (float(p[0]), float(p[1]), float(p[2]))
