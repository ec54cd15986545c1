"""The headline figures of Datta et al., ICASSP 2023, computed from our ``in_sensor`` model.

Paper: G. Datta, Z. Liu, M. A.-A. Kaiser, S. Kundu, J. Mathai, Z. Yin, A. P. Jacob,
A. R. Jaiswal, P. A. Beerel, "In-sensor & neuromorphic computing are all you need for energy
efficient computer vision", ICASSP 2023, arXiv:2212.10881. Its abstract (the only part of the
paper we could consult offline: https://arxiv.org/abs/2212.10881, also
https://huggingface.co/papers/2212.10881) states the figures we compare with: bandwidth
between sensing and processing reduced 12-96x, total energy 2.32x lower than "traditional CV
processing", 3.8 % accuracy cost on ImageNet. It also fixes what the baseline is: an SNN with
*direct encoding* (analog pixel values fed to the SNN's first layer, which therefore runs as
MACs), whose first-layer MACs it calls "negligible for deep SNNs", while "the data transfer
between the image sensors and the downstream processing ... may dominate the total energy".
The body of the paper (its energy table, network configurations and spiking activities) and
the energy table of its predecessor P2M (Datta et al., Sci. Rep. 12:14396, 2022,
arXiv:2203.04737) were NOT available to us: the stored copies hold their abstracts only.

Model (nothing in it is fitted to the paper's figures)
------------------------------------------------------
Bandwidth reduction (``neuralbrain.hardware.in_sensor.bandwidth_reduction``, P2M's formula
with a 1-bit spiking readout)::

    BR = N_i * (4/3) * N_b / (N_o * T)      N_i = H*W*3, N_b = 12, N_o = (H/s)^2 * c_o

Total energy of one inference on a 224x224 frame, conventional versus in-sensor::

    E_conv = N_raw (e_pix + e_adc) + N_raw N_b e_bit + MACs_1 e_mac + E_backbone
    E_ins  = N_o (e_out_sense + T e_spike_convert) + N_o T e_bit      + E_backbone
    E_backbone = sum_{l >= 2} MACs_l * r * T * e_ac

``N_raw = (4/3) N_i`` raw Bayer values; sensor and link energies from the ``in_sensor``
backend's table (P2M's energy table as recalled, see that module); ``e_mac`` = 4.6 pJ (the
``cpu`` backend: direct encoding runs the analog-input first layer as MACs, charged once
because the analog input is the same at every step) and ``e_ac`` = 0.9 pJ (the
``neuromorphic`` backend), both Horowitz, ISSCC 2014, 45 nm. ``r`` is the backbone's average
spiking activity per neuron and time step.

Reference configuration (``REFERENCE``): declared once, not chosen by its result
-------------------------------------------------------------------------------
``energy_ratio`` is computed for ONE configuration, fixed in ``REFERENCE`` with the reason
for each field (``REFERENCE_WHY``). It is the configuration the first version of this
report headlined; it is kept as is so the headline is not re-chosen after seeing which
configuration lands nearest the paper (ResNet18 lands nearer; it is in the sensitivity table,
not the headline). Every other configuration is reported under ``sensitivity``, with the
range it spans; none of them is a reproduction.

What is missing to reproduce 2.32x (``missing`` in the report)
----------------------------------------------------------------
1. The backbone's measured spiking activity ``r`` (we assume 0.1). ``implied_spike_rate``
   solves our model for the ``r`` at which it would give the paper's ratio: a diagnostic of
   what the missing constant would have to be, never used for a reported figure.
2. The paper's network configuration: backbone, in-pixel kernel/stride/channels, time
   steps, and whether the downstream SNN keeps the baseline's layers (our assumption) or runs
   on the smaller in-pixel map as in P2M (which would cut the in-sensor backbone energy by up
   to the square of the extra stride and raise the ratio).
3. The paper's energy table (per-pixel sensing/ADC, per-bit or per-value link energy, the
   in-pixel comparator) and the technology node it prices MACs/ACs at. Under our constants
   the conventional system's first-layer MACs cost more than its data transfer (see
   ``consistency_with_abstract``), the opposite of what the abstract states, so at least one
   of our compute-versus-link constants differs from the paper's.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from neuralbrain.errors import ConfigError, UnknownNameError
from neuralbrain.hardware import make_backend
from neuralbrain.hardware.in_sensor import (
    BAYER_FACTOR,
    CONVENTIONAL_BITS,
    InSensorConfig,
    bandwidth_reduction,
)

PAPER = {
    "bandwidth_reduction_min": 12.0,
    "bandwidth_reduction_max": 96.0,
    "energy_ratio": 2.32,
    "accuracy_drop_pct": 3.8,
}
PAPER_SOURCE = "Datta et al., ICASSP 2023, arXiv:2212.10881, abstract"

SPIKE_RATE = 0.1  # ASSUMPTION, see REFERENCE_WHY
SENSITIVITY_SPIKE_RATES = (0.05, 0.1, 0.2)


@dataclass(frozen=True)
class InPixelLayer:
    """The in-sensor first layer: non-overlapping ``stride x stride`` kernel, ``channels``
    outputs, ``time_steps`` 1-bit readouts."""

    stride: int
    channels: int
    time_steps: int = 1

    def __post_init__(self) -> None:
        for name in ("stride", "channels", "time_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"in-pixel layer {name} = {value!r}: expected an integer >= 1")

    @property
    def name(self) -> str:
        return f"s{self.stride}_c{self.channels}_T{self.time_steps}"


IN_PIXEL_CONFIGS = {
    "s4_c8_T1": InPixelLayer(4, 8, 1),
    "s2_c16_T1": InPixelLayer(2, 16, 1),
}


def vgg16_macs(size: int = 224) -> list[int]:
    """MACs per layer of VGG16 (Simonyan & Zisserman 2015) on a ``size`` x ``size`` image."""
    plan = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
            512, 512, 512, "M"]
    h, c, out = size, 3, []
    for v in plan:
        if v == "M":
            h //= 2
            continue
        out.append(h * h * 9 * c * int(v))
        c = int(v)
    return out + [h * h * c * 4096, 4096 * 4096, 4096 * 1000]


def resnet18_macs(size: int = 224) -> list[int]:
    """MACs per layer of ResNet18 (He et al. 2016): 7x7/2 stem, 4 stages of 2 basic blocks."""
    h = size // 2
    out = [h * h * 49 * 3 * 64]
    h //= 2  # max pool
    c = 64
    for i, width in enumerate((64, 128, 256, 512)):
        for block in range(2):
            stride = 2 if (i > 0 and block == 0) else 1
            h_out = h // stride
            out.append(h_out * h_out * 9 * c * width)
            out.append(h_out * h_out * 9 * width * width)
            if stride == 2:
                out.append(h_out * h_out * c * width)  # 1x1 projection shortcut
            h, c = h_out, width
    return out + [512 * 1000]


BACKBONES = {"vgg16": vgg16_macs, "resnet18": resnet18_macs}


def _check_backbone(backbone: str) -> None:
    if backbone not in BACKBONES:
        raise UnknownNameError("backbone", str(backbone), BACKBONES)


def _check_rate(rate: float) -> None:
    if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 < rate <= 1:
        raise ConfigError(
            f"backbone spike rate = {rate!r}: expected a number in (0, 1] (spikes per neuron "
            "per time step)"
        )


@dataclass(frozen=True)
class ReferenceConfig:
    """The one configuration ``energy_ratio`` is reported for (see ``REFERENCE_WHY``)."""

    backbone: str = "vgg16"
    in_pixel: InPixelLayer = field(default_factory=lambda: InPixelLayer(4, 8, 1))
    spike_rate: float = SPIKE_RATE
    image_size: int = 224

    def __post_init__(self) -> None:
        _check_backbone(self.backbone)
        _check_rate(self.spike_rate)
        if not isinstance(self.image_size, int) or self.image_size < 8:
            raise ConfigError(f"image_size = {self.image_size!r}: expected an integer >= 8")


REFERENCE = ReferenceConfig()
REFERENCE_WHY = {
    "backbone": "ASSUMPTION: VGG16, the ImageNet network of the direct-encoding SNN line the "
    "abstract builds on (DIET-SNN, Rathi & Roy, evaluates VGG and ResNet on ImageNet); kept "
    "from the first version of this report so the headline is not re-chosen by its result",
    "in_pixel": "ASSUMPTION: stride 4 (kernel = stride, non-overlapping, as in P2M), 8 "
    "channels (P2M's in-pixel channel count), 1 time step (the group's one-time-step SNNs): "
    "the configuration giving the top of the stated bandwidth range (96x), where we assume "
    "the energy figure is quoted",
    "spike_rate": "ASSUMPTION: 0.1 spikes per neuron per time step, the order reported for "
    "direct-encoded deep SNNs; the paper's own activity is not available to us",
    "downstream": "ASSUMPTION: the downstream SNN (layers 2..L) is the same in both systems; "
    "if instead it runs on the smaller in-pixel map (P2M's practice), the in-sensor backbone "
    "energy shrinks and the ratio rises",
}


def _front_ends(
    layer: InPixelLayer, backbone: str, size: int, sensor_config: InSensorConfig | None = None
) -> tuple[dict, dict, float]:
    """Energies (J) of everything but the backbone, and the backbone energy per unit rate."""
    sensor = make_backend("in_sensor", sensor_config)
    neuro = make_backend("neuromorphic")
    cpu = make_backend("cpu")
    t = layer.time_steps
    n_raw = BAYER_FACTOR * size * size * 3
    n_o = math.ceil(size / layer.stride) ** 2 * layer.channels
    macs = BACKBONES[backbone](size)
    conv = {
        "sensor_j": sensor.charge("conv_pixel", n_raw).energy_j
        + sensor.charge("conv_adc", n_raw).energy_j,
        "link_j": sensor.charge("link_bit", n_raw * CONVENTIONAL_BITS).energy_j,
        "first_layer_j": cpu.charge("mac_fp32", macs[0]).energy_j,
    }
    ins = {
        "sensor_j": sensor.charge("output_sense", n_o).energy_j
        + sensor.charge("spike_convert", n_o * t).energy_j,
        "link_j": sensor.charge("link_bit", n_o * t).energy_j,
        "first_layer_j": 0.0,  # inside sensor_j
    }
    backbone_per_rate_j = neuro.charge("synop", sum(macs[1:]) * t).energy_j
    return conv, ins, backbone_per_rate_j


def energy_breakdown(
    layer: InPixelLayer, backbone: str, size: int = 224, spike_rate: float = SPIKE_RATE,
    sensor_config: InSensorConfig | None = None,
) -> dict[str, float]:
    """Energies in joules of the conventional and in-sensor systems (module docstring);
    ``sensor_config`` replaces the ``in_sensor`` constants (for the sensitivity sweeps)."""
    _check_backbone(backbone)
    _check_rate(spike_rate)
    conv, ins, per_rate = _front_ends(layer, backbone, size, sensor_config)
    conv["backbone_j"] = ins["backbone_j"] = per_rate * spike_rate
    e_conv, e_ins = sum(conv.values()), sum(ins.values())
    return {
        "conventional": conv,
        "in_sensor": ins,
        "conventional_total_j": e_conv,
        "in_sensor_total_j": e_ins,
        "energy_ratio": e_conv / e_ins,
    }


def implied_spike_rate(
    layer: InPixelLayer, backbone: str, target_ratio: float, size: int = 224
) -> float | None:
    """The backbone spike rate at which our model gives ``target_ratio`` (None if no rate in
    (0, 1] does). Solves ``(F + r B) = R (f + r B)`` for ``r``: a diagnostic of the missing
    constant, never used for a reported figure."""
    _check_backbone(backbone)
    if not target_ratio > 1:
        raise ConfigError(f"target energy ratio = {target_ratio!r}: expected a number > 1")
    conv, ins, per_rate = _front_ends(layer, backbone, size)
    front_conv, front_ins = sum(conv.values()), sum(ins.values())
    rate = (front_conv - target_ratio * front_ins) / ((target_ratio - 1) * per_rate)
    return rate if 0 < rate <= 1 else None


def report(spike_rate: float | None = None) -> dict:
    """The paper's figures, ours next to theirs, with the configuration of each.

    ``spike_rate`` overrides the reference's assumed backbone activity (and is then reported
    as the assumption in force); the sensitivity table always spans
    ``SENSITIVITY_SPIKE_RATES``.
    """
    ref = REFERENCE if spike_rate is None else ReferenceConfig(
        REFERENCE.backbone, REFERENCE.in_pixel, spike_rate, REFERENCE.image_size
    )
    size = ref.image_size
    headline = energy_breakdown(ref.in_pixel, ref.backbone, size, ref.spike_rate)

    configs = []
    for name, layer in IN_PIXEL_CONFIGS.items():
        br = bandwidth_reduction(size, size, layer.stride, layer.channels, layer.time_steps)
        for backbone in BACKBONES:
            e = energy_breakdown(layer, backbone, size, ref.spike_rate)
            configs.append({
                "name": f"{backbone}/{name}",
                "in_pixel": asdict(layer),
                "backbone": backbone,
                "spike_rate": ref.spike_rate,
                "bandwidth_reduction": br,
                **e,
            })
    sensitivity = [
        {
            "backbone": backbone,
            "in_pixel": name,
            "spike_rate": rate,
            "energy_ratio": energy_breakdown(layer, backbone, size, rate)["energy_ratio"],
        }
        for name, layer in IN_PIXEL_CONFIGS.items()
        for backbone in BACKBONES
        for rate in sorted({*SENSITIVITY_SPIKE_RATES, ref.spike_rate})
    ]
    ratios = [row["energy_ratio"] for row in sensitivity]
    brs = [c["bandwidth_reduction"] for c in configs]
    lo = min(configs, key=lambda c: c["bandwidth_reduction"])
    hi = max(configs, key=lambda c: c["bandwidth_reduction"])

    ours = {
        "bandwidth_reduction_min": min(brs),
        "bandwidth_reduction_max": max(brs),
        "energy_ratio": headline["energy_ratio"],
    }
    within = {k: abs(ours[k] - PAPER[k]) / PAPER[k] <= 0.10 for k in ours}
    conv = headline["conventional"]
    total = headline["conventional_total_j"]
    return {
        **ours,
        "paper": PAPER,
        "paper_source": PAPER_SOURCE,
        "within_10pct": within,
        "reproduced": all(within.values()),
        "config_for": {
            "bandwidth_reduction_min": lo["name"],
            "bandwidth_reduction_max": hi["name"],
            "energy_ratio": f"{ref.backbone}/{ref.in_pixel.name}/r={ref.spike_rate:g}",
        },
        "reference": {
            "backbone": ref.backbone,
            "in_pixel": asdict(ref.in_pixel),
            "spike_rate": ref.spike_rate,
            "image_size": size,
            "why": REFERENCE_WHY,
            **headline,
        },
        "energy_ratio_range": [min(ratios), max(ratios)],
        "sensitivity": sensitivity,
        "implied_spike_rate_for_paper_ratio": {
            backbone: implied_spike_rate(ref.in_pixel, backbone, PAPER["energy_ratio"], size)
            for backbone in BACKBONES
        },
        "consistency_with_abstract": {
            "conventional_first_layer_share": conv["first_layer_j"] / total,
            "conventional_link_share": conv["link_j"] / total,
            "conventional_sensor_share": conv["sensor_j"] / total,
            "abstract_says": "first-layer MACs 'negligible for deep SNNs'; data transfer "
            "'may dominate the total energy'",
            "consistent": conv["first_layer_j"] < conv["link_j"],
        },
        "missing": [
            "the backbone's measured spiking activity (assumed "
            f"{ref.spike_rate:g}; see implied_spike_rate_for_paper_ratio)",
            "the paper's network configuration: backbone, in-pixel kernel/stride/channels, "
            "time steps, and whether the downstream SNN runs on the in-pixel map",
            "the paper's energy table (sensing, ADC/comparator, link energy per bit or per "
            "value) and the technology node of its MAC/AC energies",
        ],
        "bandwidth_note": "the paper's in-pixel configurations were not available; "
        "s4_c8_T1 gives 96x and s2_c16_T1 gives 12x (so would s4_c8 at T=8): these "
        "configurations were picked knowing the stated range, so the bandwidth figures show "
        "the formula is consistent with it, not an independent reproduction",
        "accuracy_drop_pct": None,
        "accuracy_note": "ImageNet is not available offline; the N-MNIST gap between the "
        "in-sensor SNN and the same SNN without in-sensor constraints is reported by "
        "`neuralbrain eval agents/configs/insensor_nmnist.toml` (see neuralbrain/sensing/snn/task.py)",
        "assumptions": {
            "backbone_spike_rate": ref.spike_rate,
            "image_size": size,
            "in_pixel_configs": {k: asdict(v) for k, v in IN_PIXEL_CONFIGS.items()},
            "downstream": REFERENCE_WHY["downstream"],
        },
        "configs": configs,
    }
