"""The sensor-to-processor link in the N-MNIST energy comparison, measured and swept.

The README's "energy per N-MNIST sample" row compares the same perception SNN on ``cpu`` with
its first layer in the pixels (``in_sensor`` + ``neuromorphic``): 3.9x. Both configurations
pay the same link price ``e_bit`` per bit (``in_sensor.e_bit_pj``, booked under ``readout``
by ``neuralbrain.sensing.perception``); what differs is how many bits cross::

    cpu path:        L_cpu = N_ev * b_aer * e_bit      (every DVS event as one AER word)
    in-sensor path:  L_ins = N_1 * T * b_out * e_bit   (every in-pixel output, every step)

    ratio(e_bit, b_aer) = (O_cpu + L_cpu) / (O_ins + L_ins)

with ``N_ev`` events per sample, ``N_1 = c1 * H1 * W1`` in-pixel outputs, ``T`` time steps,
``b_out`` = 1 and ``O`` everything else booked for a sample (measured on the module's
ledger, not modelled here). ``ratio(0, .)`` is what the comparison would be with a free link;
the difference to the measured ratio is the part the link model carries. The sweep moves the
link only: the cpu's DRAM read of each event word (``spike_event``, booked as ``cpu/input``)
keeps its 4 bytes. Both ``ratio`` and its terms are monotonic in ``e_bit`` and in ``b_aer``,
so ``ratio_range_over_link_assumptions`` is taken over the corners of their ranges.

Where the link constants come from (``LINK_CONSTANTS``; ``e_bit`` is in
``neuralbrain.hardware.in_sensor.CONSTANTS``):

- ``aer_bits_per_event`` = 32: ASSUMPTION (``perception.Config``), swept over 12..40 bits:
  12 = ceil(log2(34 * 34 * 2)), the address of an N-MNIST event (x, y, polarity) with no
  timestamp; 40 = the 5-byte event record of the N-MNIST files themselves (Orchard et al.,
  Front. Neurosci. 9:437, 2015; the layout in ``$NEURALBRAIN_DATA/README.md``).
- ``in_sensor_bits_per_output`` = 1: the in-pixel output is one comparator decision (a binary
  spike, Datta et al. ICASSP 2023's spiking readout) per output and time step, sent as a
  dense bitmap with no addresses: our model (ASSUMPTION; a bitmap cannot send fewer bits per
  output). ``in_sensor_address_coded`` shows the alternative the bookings do not use: only
  the spikes, each as a ceil(log2(N_1))-bit address (cheaper when fewer than 1 in that many
  outputs spike per step).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from neuralbrain.errors import ConfigError
from neuralbrain.hardware.in_sensor import CONSTANTS, Constant

N_MNIST_SENSOR = (34, 34, 2)
N_MNIST_RECORD_BITS = 40  # 5 bytes per event (data README: original N-MNIST binary)
AER_ADDRESS_BITS = math.ceil(math.log2(math.prod(N_MNIST_SENSOR)))  # 12

LINK_CONSTANTS = {c.name: c for c in (
    Constant(
        "aer_bits_per_event", 32, "bits/event",
        "ASSUMPTION (perception.aer_bits_per_event): one 32-bit AER word per event; range "
        f"{AER_ADDRESS_BITS} = ceil(log2(34*34*2)) address bits of an N-MNIST event, no "
        f"timestamp, to {N_MNIST_RECORD_BITS} = the 5-byte event record of the N-MNIST files "
        "(Orchard et al., Front. Neurosci. 9:437, 2015)",
        True, AER_ADDRESS_BITS, N_MNIST_RECORD_BITS,
    ),
    Constant(
        "in_sensor_bits_per_output", 1, "bits/output/step",
        "ASSUMPTION (our model): one binary comparator decision per in-pixel output and time "
        "step (Datta et al., ICASSP 2023, spiking in-pixel readout) sent as a dense bitmap; "
        "a bitmap cannot use fewer bits; the address-coded alternative is reported beside it "
        "(link_sensitivity.in_sensor_address_coded), not booked",
        True, 1, 1,
    ),
)}

# The two configurations of the README row and the neuromorphic-only peer (the
# Neuromorphic-P2M baseline: DVS events straight to the backend), as (backend, sensor_backend).
CONFIGS = {
    "cpu": ("cpu", "cpu"),
    "neuromorphic": ("neuromorphic", "neuromorphic"),
    "in_sensor+neuromorphic": ("neuromorphic", "in_sensor"),
}
E_BIT_SWEEP_PJ = (0.0, 7.5, 25.0, 75.0, 150.0)


def samples(pcfg: Any, n: int) -> tuple[np.ndarray, str]:
    """The first ``n`` held-out real N-MNIST recordings binned for ``pcfg`` (the README row's
    samples), or the embedded emulated digits when ``$NEURALBRAIN_DATA`` has no N-MNIST."""
    import os
    from pathlib import Path

    from neuralbrain.sensing.snn.frames import EventCounts

    if not (isinstance(n, int) and not isinstance(n, bool) and n >= 1):
        raise ConfigError(f"samples = {n!r}: expected an integer >= 1")
    tr = EventCounts(pcfg.snn.time_steps, N_MNIST_SENSOR, pcfg.window_us)
    root = os.environ.get("NEURALBRAIN_DATA")
    if root and (Path(root) / "nmnist").is_dir():
        from neuralbrain.sensing.snn.data import load_real, real_files

        x, _ = load_real(real_files(Path(root), "heldout")[:n], tr)
        return x, "real N-MNIST held-out recordings"
    from neuralbrain.sensing.datasets import NMNIST

    ds = NMNIST(split="test")
    return np.stack([tr(ds[i][0]) for i in range(min(n, len(ds)))]), ds.source


def measure(pcfg: Any, params: Mapping[str, np.ndarray], counts: np.ndarray) -> dict[str, Any]:
    """Per-sample energies booked by each of ``CONFIGS`` on the same ``counts``.

    ``pcfg`` is a ``perception.Config``, ``params`` the SNN weights, ``counts`` the binned
    samples (N, T, 2, 34, 34). Returns, per configuration, the per-sample energy of each
    ``backend/op`` booking, and the counts the link formula needs (events per sample,
    in-pixel outputs per step, time steps).
    """
    from neuralbrain.sensing.perception import Perception

    x = np.asarray(counts)
    if x.ndim != 5 or x.shape[0] < 1 or x.shape[2:] != (2, 34, 34):
        raise ConfigError(f"counts of shape {x.shape}: expected (N >= 1, T, 2, 34, 34)")
    n = x.shape[0]
    out: dict[str, Any] = {
        "samples": n,
        "events_per_sample": float(x.sum()) / n,
        "time_steps": int(pcfg.snn.time_steps),
        "in_pixel_outputs": int(math.prod(pcfg.snn.conv1_shape) * pcfg.snn.conv1_channels),
        "configs": {},
    }
    for name, (backend, sensor) in CONFIGS.items():
        m = Perception(replace(pcfg, backend=backend, sensor_backend=sensor), params=params)
        m.reset(0)
        spikes1 = 0.0
        for i in range(0, n, 64):
            m.classify(x[i : i + 64].astype(np.float32))
            spikes1 += float(np.asarray(m.last_record["s1"]).sum())
        if name == "in_sensor+neuromorphic":
            out["in_pixel_spikes_per_sample"] = spikes1 / n
        booked: dict[str, float] = {}
        for b in m.ledger.drain():
            key = f"{b.backend}/{b.op}"
            booked[key] = booked.get(key, 0.0) + b.cost.energy_j / n
        out["configs"][name] = booked
    return out


def _split(booked: Mapping[str, float]) -> tuple[float, float]:
    """(link, everything else) of one configuration's per-sample bookings."""
    link = sum(v for k, v in booked.items() if k.endswith("/readout"))
    return link, sum(booked.values()) - link


def link_sensitivity(
    measured: Mapping[str, Any],
    e_bit_pj: Sequence[float] = E_BIT_SWEEP_PJ,
    aer_bits: Sequence[int] | None = None,
) -> dict[str, Any]:
    """The cpu / in-sensor energy ratio as the link price and the AER word width vary.

    Implements ``ratio(e_bit, b_aer)`` of the module docstring from ``measure``'s bookings:
    ``O`` is what each configuration booked outside ``readout``; the link terms are recomputed
    from the counts. At the measured settings it equals the measured ratio (checked).
    """
    aer = LINK_CONSTANTS["aer_bits_per_event"]
    bits_out = LINK_CONSTANTS["in_sensor_bits_per_output"].value
    aer_bits = list(aer_bits or (aer.low, 16, aer.value, aer.high))
    for v in e_bit_pj:
        if not (isinstance(v, int | float) and v >= 0):
            raise ConfigError(f"link e_bit = {v!r} pJ/bit: expected a number >= 0")
    for b in aer_bits:
        if not (isinstance(b, int | float) and b >= 1):
            raise ConfigError(f"AER word = {b!r} bits: expected a number >= 1")
    cfgs = measured["configs"]
    cpu_link, cpu_other = _split(cfgs["cpu"])
    ins_link, ins_other = _split(cfgs["in_sensor+neuromorphic"])
    n_ev = measured["events_per_sample"]
    ins_bits = measured["in_pixel_outputs"] * measured["time_steps"] * bits_out
    e_bit_now = CONSTANTS["e_bit_pj"].value

    def ratio(e_pj: float, b: float) -> float:
        return (cpu_other + n_ev * b * e_pj * 1e-12) / (ins_other + ins_bits * e_pj * 1e-12)

    measured_ratio = (cpu_link + cpu_other) / (ins_link + ins_other)
    at_now = ratio(e_bit_now, aer.value)
    if not math.isclose(at_now, measured_ratio, rel_tol=1e-6):
        raise ConfigError(
            f"link model gives {at_now:.6g} at the measured settings but the ledger gives "
            f"{measured_ratio:.6g}: the counts do not match the bookings"
        )
    free = ratio(0.0, aer.value)
    # the in-pixel spikes sent as addresses instead of a bitmap (time step implied by the frame)
    addr_bits = math.ceil(math.log2(measured["in_pixel_outputs"]))
    spikes = measured.get("in_pixel_spikes_per_sample")
    addressed = None if spikes is None else (
        (cpu_other + n_ev * aer.value * e_bit_now * 1e-12)
        / (ins_other + spikes * addr_bits * e_bit_now * 1e-12)
    )
    e_bit_c = CONSTANTS["e_bit_pj"]
    corners = [ratio(v, b) for v in (e_bit_c.low, e_bit_c.high) for b in (aer.low, aer.high)]
    return {
        "formula": "ratio = (O_cpu + N_ev * b_aer * e_bit) / (O_ins + N_1 * T * 1 * e_bit)",
        "measured_ratio": measured_ratio,
        "ratio_free_link": free,
        "link_carries": 1.0 - (free - 1.0) / (measured_ratio - 1.0)
        if measured_ratio != 1.0 else 0.0,
        "ratio_range_over_link_assumptions": [min(corners), max(corners)],
        "in_sensor_address_coded": {
            "bits_per_spike": addr_bits,
            "spikes_per_sample": spikes,
            "link_bits_per_sample": None if spikes is None else spikes * addr_bits,
            "ratio": addressed,
        },
        "link_share_of_energy": {"cpu": cpu_link / (cpu_link + cpu_other),
                                 "in_sensor": ins_link / (ins_link + ins_other)},
        "per_sample_j": {"cpu_link": cpu_link, "cpu_other": cpu_other,
                         "in_sensor_link": ins_link, "in_sensor_other": ins_other},
        "events_per_sample": n_ev,
        "cpu_link_bits_per_sample": n_ev * aer.value,
        "in_sensor_link_bits_per_sample": ins_bits,
        "e_bit_pj_now": e_bit_now,
        "aer_bits_now": aer.value,
        "by_e_bit_pj": {f"{v:g}": ratio(v, aer.value) for v in e_bit_pj},
        "by_aer_bits": {f"{b:g}": ratio(e_bit_now, b) for b in aer_bits},
        "grid": [{"e_bit_pj": v, "aer_bits": b, "ratio": ratio(v, b)}
                 for v in e_bit_pj for b in aer_bits],
        "constants": {k: c.as_dict() for k, c in LINK_CONSTANTS.items()},
    }
