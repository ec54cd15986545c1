"""Trainable readouts on reservoir features: softmax classifier, optionally one GELU layer.

``Readout`` maps a feature vector (e.g. spike counts per neuron and time window) to class
logits: standardize with the training set's mean/std, then ``logits = x W + b`` (``hidden =
0``: multinomial logistic regression, the paper's linear readout) or ``GELU(x W1 + b1) W2 +
b2`` (``hidden > 0``). Trained with cross-entropy + L2 weight decay by Adam on minibatches;
the batch order comes from the seed, so training is deterministic.

Where its work is priced: the softmax readout's products run through the ``matmul`` its
caller passes (a module's backend, which books them; plain numpy by default, unpriced); the
SVM readout (``type = "svm"``) runs on its own backend (``backend``, e.g. ``cpu``, ``fpga``),
whose ``Cost`` ``classify`` returns for the caller to book, and ``device`` is that backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuralbrain.energy import Cost
from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.memory.optim import Adam
from neuralbrain.resumable import (
    Checkpointer,
    adam_arrays,
    prefixed,
    restore_adam,
    restore_rng,
    rng_state,
    unprefixed,
)


@dataclass(frozen=True)
class Config:
    """``[readout]``: the classifier on top of the reservoir and how it is trained."""

    n_windows: int = 1  # time windows of spike counts per neuron (1 = total count)
    hidden: int = 0  # 0: linear readout; else one GELU layer of this width
    epochs: int = 60
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    log_counts: bool = True  # features log1p(counts): tames heavy-tailed firing rates
    # Also feed the binned input counts (same windows) to the readout: the direct input ->
    # readout connections of reservoir computing (Lukosevicius & Jaeger, Comput. Sci. Rev.
    # 2009, readout from [u(n); x(n)]).
    include_inputs: bool = False
    # Per-speaker standardisation of the log features (``neuralbrain.memory.speaker_norm``:
    # "none", "mean" or "meanvar"). Its caller (``lsm_tasks``) normalises the features with
    # each speaker's statistics and passes them already in the log domain.
    speaker_norm: str = "none"
    # ``type = "svm"``: a support-vector machine (``memory.svm``) instead of the softmax
    # readout, run on ``backend`` (``cpu``: float; ``fpga``: fixed point, ``fpga_width`` bits);
    # epochs / lr / hidden do not apply to it.
    type: str = "logistic"
    backend: str = "cpu"
    svm_kernel: str = "rbf"
    svm_c: float = 1.0
    svm_gamma: float = 0.0  # 0: 1 / n_features on standardized features ("scale")
    svm_multiclass: str = "ovo"
    svm_clip: float = 0.0  # standardized features clipped to +-svm_clip (``svm.Config.clip``)
    fpga_width: int = 16
    # Self-training (``memory.adaptation``) in ``lsm_tasks.leave_one_speaker_out``
    # (transductive, batch): the readout is refitted with this fraction of the scored
    # speaker's recordings, the most confident by the top-two margin of their class scores, labelled by its
    # first fit (0: off). On, the checkpoint also keeps the training readout inputs.
    self_train: float = 0.0
    # ... and one utterance at a time (the report's stream figure and the ``listener``): the
    # readout refitted every this many utterances on that fraction of the utterances heard
    # so far (0: the first readout throughout)
    self_train_every: int = 0
    checkpoint_every: int = 10  # epochs between training-state checkpoints (0: at the end)

    def __post_init__(self) -> None:
        from neuralbrain.memory.speaker_norm import check_mode

        check_mode(self.speaker_norm)
        if self.type not in ("logistic", "svm"):
            raise ConfigError(f"readout.type = {self.type!r}: expected 'logistic' or 'svm'")
        if self.type == "logistic" and self.backend != "cpu":
            raise ConfigError(f"readout.backend = {self.backend!r}: the logistic readout runs "
                              "on 'cpu' only; set readout.type = 'svm' for another backend")
        if not 0.0 <= self.self_train <= 1.0:
            raise ConfigError(f"readout.self_train = {self.self_train}: expected a fraction "
                              "in [0, 1] (0 = off)")
        if self.self_train_every < 0:
            raise ConfigError(f"readout.self_train_every = {self.self_train_every}: expected "
                              ">= 0 utterances (0 = off)")
        if not 4 <= self.fpga_width <= 32:
            raise ConfigError(f"readout.fpga_width = {self.fpga_width}: expected 4..32 bits")
        for name in ("n_windows", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"readout.{name} = {getattr(self, name)}: expected >= 1")
        if self.hidden < 0 or self.checkpoint_every < 0:
            raise ConfigError(f"readout.hidden = {self.hidden}, checkpoint_every = "
                              f"{self.checkpoint_every}: expected >= 0")
        if not self.lr > 0 or self.weight_decay < 0:
            raise ConfigError(
                f"readout.lr = {self.lr}, weight_decay = {self.weight_decay}: expected lr > 0 "
                "and weight_decay >= 0"
            )


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh approximation (Hendrycks & Gimpel 2016)."""
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x**3)))


def gelu_grad(x: np.ndarray) -> np.ndarray:
    u = 0.7978845608028654 * (x + 0.044715 * x**3)
    t = np.tanh(u)
    du = 0.7978845608028654 * (1.0 + 3 * 0.044715 * x**2)
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


MatMul = Callable[[np.ndarray, np.ndarray], np.ndarray]


class Readout:
    """A trained classifier: ``fit(features, labels)``, ``predict``, ``state()``/``from_state``."""

    def __init__(self, config: Config, n_features: int, n_classes: int, seed: int = 0) -> None:
        self.config = config
        self.svm: _SvmHead | None = None
        if config.type == "svm":
            self.svm = _SvmHead(config, n_features, seed)
        self.n_features, self.n_classes = n_features, n_classes
        rng = np.random.default_rng(seed)
        self.seed = seed
        h = config.hidden
        self.params: dict[str, np.ndarray] = {"mean": np.zeros(n_features),
                                              "std": np.ones(n_features)}
        if h:
            self.params["w1"] = rng.normal(0, 1 / np.sqrt(n_features), (n_features, h))
            self.params["b1"] = np.zeros(h)
            self.params["w2"] = rng.normal(0, 1 / np.sqrt(h), (h, n_classes))
        else:
            self.params["w2"] = np.zeros((n_features, n_classes))
        self.params["b2"] = np.zeros(n_classes)

    def _prepare(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ShapeError(
                f"features have shape {x.shape}: expected (batch, {self.n_features})"
            )
        # speaker-normalised features arrive in the log domain already (speaker_norm.normalize)
        return np.log1p(x) if self.config.log_counts and self.config.speaker_norm == "none" else x

    def _forward(self, x: np.ndarray, matmul: MatMul = np.matmul
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        p = self.params
        z = (x - p["mean"]) / p["std"]
        cache = {"z": z}
        if self.config.hidden:
            a = matmul(z, p["w1"]) + p["b1"]
            cache["a"] = a
            z2 = gelu(a)
            cache["h"] = z2
        else:
            z2 = z
            cache["h"] = z
        return matmul(z2, p["w2"]) + p["b2"], cache

    def logits(self, features: np.ndarray, matmul: MatMul = np.matmul) -> np.ndarray:
        """Class logits (batch, n_classes); ``matmul`` runs the products."""
        if self.svm is not None:
            raise ConfigError("readout.type = 'svm' has decision values, not logits: use "
                              "predict()")
        return self._forward(self._prepare(features), matmul)[0]

    def labels_and_scores(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray, Cost]:
        """``predict``'s labels, per-class scores (batch, n_classes) whose argmax is that
        label up to ties (the logits; for the SVM its decision values made one score per
        class, ``svm.class_scores``: their top-two margin ranks confidence) and the cost on
        ``device`` of the one decision pass both come from (softmax readout: zero here)."""
        if self.svm is not None:
            from neuralbrain.memory import svm

            if self.svm.classifier is None:
                raise ConfigError("the SVM readout is not trained: call fit() or load_state()")
            model = self.svm.classifier.model
            dec, cost = self.svm.classifier.decision(self._prepare(features))
            return (np.asarray(model.vote(dec), np.int64),
                    svm.class_scores(model, np.asarray(dec)), cost)
        logits = self.logits(features)
        return np.argmax(logits, axis=1), logits, Cost()

    def predict(self, features: np.ndarray, matmul: MatMul = np.matmul) -> np.ndarray:
        """Class labels (batch,); see ``classify``."""
        return self.classify(features, matmul)[0]

    def classify(self, features: np.ndarray,
                 matmul: MatMul = np.matmul) -> tuple[np.ndarray, Cost]:
        """Class labels (batch,) and what they cost on ``device``: the SVM's decisions on its
        backend; for the softmax readout zero here, its products running through ``matmul``
        (the caller's backend books those)."""
        if self.svm is not None:
            return self.svm.classify(self._prepare(features))
        return np.argmax(self.logits(features, matmul), axis=1), Cost()

    @property
    def device(self) -> Any:
        """The backend the SVM readout runs on (None: the softmax readout, or not placed)."""
        return self.svm.device if self.svm is not None else None

    @property
    def spent(self) -> Cost:
        """What the SVM readout's backend did since it was placed (``Cost``; zero otherwise)."""
        return self.device.spent if self.device is not None else Cost()

    def place_on(self, device: Any) -> Cost:
        """Put the trained SVM readout on ``device``, an existing backend instance (the one a
        readout it replaces ran on, so one device counts both), and return what placing it
        cost there; the softmax readout has nothing placed (zero)."""
        return self.svm.place_on(device) if self.svm is not None else Cost()

    def fit_macs(self, labels: np.ndarray) -> int:
        """The multiply-accumulates ``fit`` does on rows with ``labels``: the price of a fit
        run inside the loop (``adaptation.UserStream``), estimated, not counted.

        Softmax readout: each epoch, every row's forward products and weight gradients
        (n (2 f c) linear; n (2 f h + 3 h c) with the hidden layer). SVM (libsvm): every binary
        problem's kernel matrix computed once, f MACs per entry: one-vs-one the sum over class
        pairs of (n_i + n_j)^2 f, one-vs-rest k n^2 f. A lower bound: libsvm's kernel cache
        (200 MB in scikit-learn's ``SVC``) holds these matrices whole at our sizes, and the
        solver's own updates (O(n) per iteration) are left out."""
        y = np.asarray(labels)
        f, c, h = self.n_features, self.n_classes, self.config.hidden
        if self.svm is None:
            per_row = 2 * f * h + 3 * h * c if h else 2 * f * c
            return int(self.config.epochs * len(y) * per_row)
        counts = np.bincount(y, minlength=c).astype(np.int64)
        if self.config.svm_multiclass == "ovr" and c > 2:
            return int(c * len(y) ** 2 * f)
        pairs = sum(int(counts[i] + counts[j]) ** 2 for i in range(c) for j in range(i + 1, c))
        return int(pairs * f)

    def fit(self, features: np.ndarray, labels: np.ndarray, progress: bool = False,
            checkpoint: Checkpointer | None = None) -> list[float]:
        """Train on (features, labels); returns the mean loss of each epoch (for the SVM: one
        figure, its training error rate). With ``checkpoint`` (softmax readout), the whole
        training state is saved every ``checkpoint_every`` epochs and at the end, and a
        resuming checkpointer continues from its last save to the same parameters."""
        x = self._prepare(features)
        y = np.asarray(labels, np.int64)
        if y.shape != (x.shape[0],) or y.min() < 0 or y.max() >= self.n_classes:
            raise ShapeError(
                f"labels shape {y.shape} range [{y.min()}, {y.max()}]: expected "
                f"({x.shape[0]},) in 0..{self.n_classes - 1}"
            )
        if self.svm is not None:  # one solver call: nothing to resume inside it
            self.svm.fit(x, y)
            return [float(np.mean(self.svm.predict(x) != y))]
        cfg, p = self.config, self.params
        p["mean"] = x.mean(axis=0)
        p["std"] = x.std(axis=0) + 1e-6
        opt = Adam(cfg.lr)
        rng = np.random.default_rng(self.seed + 1)
        onehot = np.eye(self.n_classes)[y]
        losses: list[float] = []
        saved = checkpoint.load() if checkpoint is not None else None
        if saved is not None:
            arrays, state = saved
            self.load_state(unprefixed("param", arrays))
            restore_adam("adam", opt, arrays)
            rng, losses = restore_rng(state["rng"]), list(state["losses"])
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=cfg.epochs, initial=len(losses), desc="readout", leave=False)
        while len(losses) < cfg.epochs:
            order = rng.permutation(x.shape[0])
            total = 0.0
            for start in range(0, x.shape[0], cfg.batch_size):
                idx = order[start:start + cfg.batch_size]
                logits, cache = self._forward(x[idx])
                prob = softmax(logits)
                total += -np.log(prob[np.arange(idx.size), y[idx]] + 1e-12).sum()
                d = (prob - onehot[idx]) / idx.size
                grads = {"w2": cache["h"].T @ d + cfg.weight_decay * p["w2"], "b2": d.sum(0)}
                if cfg.hidden:
                    dh = (d @ p["w2"].T) * gelu_grad(cache["a"])
                    grads["w1"] = cache["z"].T @ dh + cfg.weight_decay * p["w1"]
                    grads["b1"] = dh.sum(0)
                opt.step(p, grads)
            losses.append(float(total / x.shape[0]))
            if bar is not None:
                bar.update(1)
            if checkpoint is not None and (checkpoint.due(len(losses))
                                           or len(losses) == cfg.epochs):
                checkpoint.save({**prefixed("param", p), **adam_arrays("adam", opt)},
                                {"step": len(losses), "losses": losses, "rng": rng_state(rng)})
        if bar is not None:
            bar.close()
        return losses

    def state(self) -> dict[str, np.ndarray]:
        if self.svm is not None:
            return self.svm.state()
        return {k: v.copy() for k, v in self.params.items()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        if self.svm is not None:
            self.svm.load_state(state)
            return
        for k, v in self.params.items():
            if k not in state or np.shape(state[k]) != v.shape:
                raise ShapeError(
                    f"readout state {k!r}: expected shape {v.shape}, got "
                    f"{np.shape(state[k]) if k in state else 'nothing'}"
                )
            self.params[k] = np.asarray(state[k], np.float64)


_SVM_KEYS = ("support", "coef", "intercept", "classes", "mean", "std", "scalars", "pairs")


class _SvmHead:
    """The ``type = "svm"`` readout: ``memory.svm`` on the backend the config names."""

    def __init__(self, config: Config, n_features: int, seed: int) -> None:
        from neuralbrain.hardware import BACKENDS
        from neuralbrain.memory import svm

        # a backend that cannot run the SVM is named before the solver runs, not after
        svm.check_backend(BACKENDS.get(config.backend), config.svm_kernel)
        self.config, self.n_features, self.seed = config, n_features, seed
        self.svm_config = svm.Config(kernel=config.svm_kernel, c=config.svm_c,
                                     gamma=config.svm_gamma, multiclass=config.svm_multiclass,
                                     clip=config.svm_clip)
        self.classifier: Any = None

    def _place(self, model: Any) -> None:
        from neuralbrain.hardware import BACKENDS, make_backend
        from neuralbrain.memory import svm

        cls = BACKENDS.get(self.config.backend)
        cfg = None
        fields = getattr(cls.Config, "__dataclass_fields__", {})
        if "input_fmt" in fields:  # a fixed-point backend: every operand fpga_width bits
            cfg = cls.Config().with_width(self.config.fpga_width)
        backend = make_backend(self.config.backend, cfg, seed=self.seed)
        self.classifier = svm.SvmClassifier(model, backend)

    def fit(self, x: np.ndarray, y: np.ndarray) -> None:
        from neuralbrain.memory import svm

        self._place(svm.train_svm(x, y, self.svm_config, seed=self.seed))

    def place_on(self, device: Any) -> Cost:
        from neuralbrain.memory import svm

        if self.classifier is None:
            raise ConfigError("the SVM readout is not trained: call fit() or load_state()")
        self.classifier = svm.SvmClassifier(self.classifier.model, device)
        return self.classifier.place_cost

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.classify(x)[0]

    def classify(self, x: np.ndarray) -> tuple[np.ndarray, Cost]:
        """Labels (batch,) and the ``Cost`` of their decisions on the SVM's backend."""
        if self.classifier is None:
            raise ConfigError("the SVM readout is not trained: call fit() or load_state()")
        dec, cost = self.classifier.decision(x)
        return np.asarray(self.classifier.model.vote(dec), np.int64), cost

    @property
    def device(self) -> Any:
        return self.classifier.backend if self.classifier is not None else None

    def state(self) -> dict[str, np.ndarray]:
        m = self.classifier.model
        return {"support": m.support.copy(), "coef": m.coef.copy(),
                "intercept": m.intercept.copy(), "classes": m.classes.copy(),
                "mean": m.mean.copy(), "std": m.std.copy(),
                "scalars": np.array([m.gamma, m.input_max_abs, m.clip]),
                "pairs": np.array(m.pairs, dtype=np.int64).reshape(-1, 2)}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        from neuralbrain.memory import svm

        missing = [k for k in _SVM_KEYS if k not in state]
        if missing:
            raise ShapeError(f"SVM readout state lacks {missing}: expected {list(_SVM_KEYS)}")
        if np.shape(state["support"])[1:] != (self.n_features,):
            raise ShapeError(f"SVM readout state: support vectors of shape "
                             f"{np.shape(state['support'])}, expected (n_sv, {self.n_features})")
        model = svm.SvmModel(
            self.config.svm_kernel, self.config.svm_multiclass, np.asarray(state["classes"]),
            np.asarray(state["support"], np.float64), np.asarray(state["coef"], np.float64),
            np.asarray(state["intercept"], np.float64), float(state["scalars"][0]),
            np.asarray(state["mean"], np.float64), np.asarray(state["std"], np.float64),
            tuple((int(i), int(j)) for i, j in np.asarray(state["pairs"])),
            float(state["scalars"][1]),
            # states saved before the clip existed hold two scalars (and were not clipped)
            float(state["scalars"][2]) if np.size(state["scalars"]) > 2 else 0.0)
        self._place(model)
