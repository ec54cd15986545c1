"""A support-vector-machine classifier on any feature vector, run on a chosen backend.

It lives in ``memory/`` beside ``readout.py`` because its first consumer is the LSM readout
(the reservoir's spike-count features -> class), and like ``Readout`` it is a classifier on
features, not a reasoner. scikit-learn's ``SVC`` (libsvm; Chang & Lin, ACM TIST 2011) trains
it and is the float reference; inference is ours, on the module's backend:

- features are standardized in float (the ARM's software side in Afifi et al. 2019, where the
  processor extracts the features and the logic classifies);
- a binary decision ``f(x) = sum_i a_i K(s_i, x) + b`` with ``a_i = alpha_i y_i`` over the
  support vectors ``s_i``; ``K(s, x) = s . x`` (linear) or ``exp(-gamma ||s - x||^2)`` (RBF);
- multi-class: one-vs-one (libsvm's pairs, each votes; ties to the lowest class index) or
  one-vs-rest (one SVC per class, argmax of the decisions).

On a backend with ``matmul`` (``cpu``: float) the linear decision is ``x @ W + b`` with ``W =
S^T A`` and the RBF one uses ``||s - x||^2 = |x|^2 + |s|^2 - 2 x . s`` with ``x . s`` through
``matmul``; a backend with the contract's ``svm`` op (``fpga``: ``place_svm`` /
``svm_decision``, fixed point with its exp ROM) runs the RBF decision on that datapath.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neuralbrain.energy import Cost
from neuralbrain.errors import CapabilityError, ConfigError, DataError, ShapeError

KERNELS = ("linear", "rbf")
MULTICLASS = ("ovo", "ovr")


@dataclass(frozen=True)
class Config:
    """``[readout]``-style settings of an SVM: kernel, regularization, multi-class scheme."""

    kernel: str = "rbf"
    c: float = 1.0
    gamma: float = 0.0  # 0: scikit-learn's "scale", 1 / (d * var(x)) = 1 / d after standardizing
    multiclass: str = "ovo"
    # > 0: standardized features are clipped to [-clip, clip] (training and decisions), so a
    # feature almost constant in training cannot swamp the RBF distance of a new input
    clip: float = 0.0

    def __post_init__(self) -> None:
        if self.kernel not in KERNELS:
            raise ConfigError(f"svm.kernel = {self.kernel!r}: expected one of {KERNELS}")
        if self.multiclass not in MULTICLASS:
            raise ConfigError(f"svm.multiclass = {self.multiclass!r}: expected one of {MULTICLASS}")
        if not self.clip >= 0:
            raise ConfigError(f"svm.clip = {self.clip}: expected >= 0 (0 = off)")
        if not self.c > 0 or self.gamma < 0:
            raise ConfigError(f"svm.c = {self.c}, svm.gamma = {self.gamma}: expected c > 0 and "
                              "gamma >= 0 (0: 'scale')")


@dataclass(frozen=True)
class SvmModel:
    """A trained SVM in one form for every scheme: support vectors (n_sv, d), coefficients
    (n_sv, n_dec), intercepts (n_dec,), the pairs (ovo) and the scaler."""

    kernel: str
    multiclass: str
    classes: np.ndarray
    support: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    gamma: float
    mean: np.ndarray
    std: np.ndarray
    pairs: tuple[tuple[int, int], ...]
    input_max_abs: float = 0.0  # max |standardized training feature| (fixed-point ranges)
    clip: float = 0.0  # standardized features clipped to [-clip, clip]; 0 = not clipped

    @property
    def n_features(self) -> int:
        return int(self.support.shape[1])

    def standardize(self, x: Any) -> np.ndarray:
        arr = np.asarray(x, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.n_features:
            raise ShapeError(f"features have shape {arr.shape}: expected (batch, "
                             f"{self.n_features}) to match the trained model")
        xs = (arr - self.mean) / self.std
        return np.clip(xs, -self.clip, self.clip) if self.clip > 0 else xs

    def vote(self, dec: np.ndarray) -> np.ndarray:
        """Class labels from the decision values (batch, n_dec)."""
        if self.multiclass == "ovr" and len(self.classes) > 2:
            return self.classes[np.argmax(dec, axis=1)]
        if len(self.classes) == 2:  # one decision, positive -> classes[1] (scikit-learn's sign)
            return self.classes[(dec[:, 0] > 0).astype(int)]
        votes = np.zeros((dec.shape[0], len(self.classes)), dtype=np.int64)
        for p, (i, j) in enumerate(self.pairs):  # libsvm: positive -> the first class of the pair
            win = np.where(dec[:, p] > 0, i, j)
            np.add.at(votes, (np.arange(dec.shape[0]), win), 1)
        return self.classes[np.argmax(votes, axis=1)]


def class_scores(model: SvmModel, dec: np.ndarray) -> np.ndarray:
    """One score per class (batch, n_classes) from decision values (batch, n_dec) whose
    argmax is ``model.vote``'s label (up to ties): one-vs-rest, the decisions themselves;
    one-vs-one, each class's votes plus its summed pair decisions squashed into (-1/3, 1/3)
    (scikit-learn's ``decision_function_shape = "ovr"``), so a tie of votes goes to the more
    confident class."""
    k = len(model.classes)
    if model.multiclass == "ovr" and k > 2:
        return dec
    if k == 2:
        return np.stack([-dec[:, 0], dec[:, 0]], axis=1)
    votes = np.zeros((dec.shape[0], k))
    conf = np.zeros((dec.shape[0], k))
    for p, (i, j) in enumerate(model.pairs):  # positive -> the first class of the pair
        votes[:, i] += dec[:, p] > 0
        votes[:, j] += dec[:, p] <= 0
        conf[:, i] += dec[:, p]
        conf[:, j] -= dec[:, p]
    return votes + conf / (3.0 * (np.abs(conf) + 1.0))


def _binary_parts(svc: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.asarray(svc.support_vectors_, np.float64), np.asarray(svc.dual_coef_.T, np.float64),
            np.asarray(svc.intercept_, np.float64))


def train_svm(x: Any, y: Any, config: Config = Config(), seed: int = 0) -> SvmModel:
    """Fit scikit-learn's ``SVC`` on standardized ``x`` and return the model in ``SvmModel``
    form (the float reference ``svm_decision_float`` reproduces ``SVC.decision_function``)."""
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.svm import SVC

    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y)
    if xa.ndim != 2 or len(xa) != len(ya) or len(xa) == 0:
        raise ShapeError(f"x {xa.shape} / y {ya.shape}: expected (n, d) features and n labels")
    classes = np.unique(ya)
    if len(classes) < 2:
        raise DataError(f"training labels hold {len(classes)} class(es) {classes.tolist()}: an "
                        "SVM needs at least 2")
    mean, std = xa.mean(axis=0), xa.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    xs = (xa - mean) / std
    if config.clip > 0:
        xs = np.clip(xs, -config.clip, config.clip)
    gamma = config.gamma or 1.0 / (xs.shape[1] * xs.var())
    svc = SVC(kernel=config.kernel, C=config.c, gamma=gamma, random_state=seed)
    pairs: tuple[tuple[int, int], ...] = ()
    if config.multiclass == "ovr" and len(classes) > 2:
        ovr = OneVsRestClassifier(svc).fit(xs, ya)
        parts = [_binary_parts(est) for est in ovr.estimators_]
        support = np.concatenate([p[0] for p in parts])
        coef = np.zeros((len(support), len(parts)))
        start = 0
        for k, (s, c, _) in enumerate(parts):
            coef[start:start + len(s), k] = c[:, 0]
            start += len(s)
        intercept = np.concatenate([p[2] for p in parts])
    else:
        svc.fit(xs, ya)
        support = np.asarray(svc.support_vectors_, np.float64)
        if len(classes) == 2:
            coef, intercept = _binary_parts(svc)[1], np.asarray(svc.intercept_, np.float64)
        else:  # libsvm's one-vs-one layout: dual_coef_[j-1] for class i's vectors in pair (i, j)
            n = len(classes)
            bounds = np.concatenate([[0], np.cumsum(svc.n_support_)])
            pairs = tuple((i, j) for i in range(n) for j in range(i + 1, n))
            coef = np.zeros((len(support), len(pairs)))
            for p, (i, j) in enumerate(pairs):
                si, sj = slice(bounds[i], bounds[i + 1]), slice(bounds[j], bounds[j + 1])
                coef[si, p] = svc.dual_coef_[j - 1, si]
                coef[sj, p] = svc.dual_coef_[i, sj]
            intercept = np.asarray(svc.intercept_, np.float64)
    return SvmModel(config.kernel, config.multiclass, classes, support, coef, intercept,
                    float(gamma), mean, std, pairs, float(np.abs(xs).max()), float(config.clip))


def svm_decision_float(model: SvmModel, xs: np.ndarray) -> np.ndarray:
    """Float64 decisions (batch, n_dec) on standardized features ``xs`` (the reference)."""
    if model.kernel == "linear":
        k = xs @ model.support.T
    else:
        d2 = (xs**2).sum(1)[:, None] + (model.support**2).sum(1)[None] - 2 * xs @ model.support.T
        k = np.exp(-model.gamma * np.maximum(d2, 0.0))
    return k @ model.coef + model.intercept


def check_backend(backend: Any, kernel: str) -> None:
    """Raise ``CapabilityError`` (one line, naming the backends that can) unless ``backend``
    (a ``Backend`` class or instance) runs a ``kernel`` SVM: the linear decision needs
    ``matmul``, the RBF one the ``svm`` op or ``matmul``."""
    from neuralbrain.hardware import backends_with

    ops = ("matmul",) if kernel == "linear" else ("svm", "matmul")
    if not set(ops) & set(backend.capabilities):
        able = sorted({name for op in ops for name in backends_with(op)})
        raise CapabilityError(f"backend {backend.name!r} cannot run an SVM with the {kernel} "
                              f"kernel: it has no op {' or '.join(map(repr, ops))}; backends that "
                              f"can: {able}")


class SvmClassifier:
    """An ``SvmModel`` placed on a backend: ``decision(x) -> (dec, Cost)``, ``predict(x)``.

    The backend is any ``Backend`` instance (the module asks the registry for it by name); one
    with the ``svm`` op runs the RBF decision on its own datapath, any with ``matmul`` runs the
    linear one and the RBF cross term. A backend with neither raises ``CapabilityError``.
    """

    def __init__(self, model: SvmModel, backend: Any) -> None:
        check_backend(backend, model.kernel)
        self.model, self.backend = model, backend
        self._svm_datapath = "svm" in backend.capabilities and model.kernel == "rbf"
        self.place_cost = Cost()
        if model.kernel == "linear":
            self._w, self.place_cost = backend.place(model.support.T @ model.coef)
        elif self._svm_datapath:
            self._placed, self.place_cost = backend.place_svm(
                model.kernel, model.support, model.coef, model.intercept, model.gamma,
                input_max_abs=model.input_max_abs)
        else:
            self._s, c1 = backend.place(model.support.T)
            self._c, c2 = backend.place(model.coef)
            self.place_cost = c1 + c2

    def decision(self, x: Any) -> tuple[np.ndarray, Cost]:
        xs = self.model.standardize(x)
        m = self.model
        if m.kernel == "linear":
            dec, cost = self.backend.matmul(xs, self._w)
            return np.asarray(dec, np.float64) + m.intercept, cost
        if self._svm_datapath:
            return self.backend.svm_decision(xs, self._placed)
        cross, c1 = self.backend.matmul(xs, self._s)
        d2 = (xs**2).sum(1)[:, None] + (m.support**2).sum(1)[None] - 2 * np.asarray(cross)
        k = np.exp(-m.gamma * np.maximum(d2, 0.0))
        dec, c2 = self.backend.matmul(k, self._c)
        return np.asarray(dec, np.float64) + m.intercept, c1 + c2

    def predict(self, x: Any) -> np.ndarray:
        return self.model.vote(self.decision(x)[0])

    def accuracy(self, x: Any, y: Any) -> float:
        return float(np.mean(self.predict(x) == np.asarray(y)))


# --- bring your own images: <root>/<class>/*.png|jpg -> hand-made lesion features -------------
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
IMAGE_FEATURES = ("mean_r", "mean_g", "mean_b", "std_r", "std_g", "std_b", "asymmetry_x",
                  "asymmetry_y", "compactness", "gradient_mean", "gradient_std", "entropy")


def otsu_threshold(grey: np.ndarray) -> float:
    """Otsu's threshold (IEEE Trans. SMC 1979) of values in [0, 1]: maximizes the between-class
    variance ``w0 w1 (mu0 - mu1)^2`` over 256 bins."""
    hist, edges = np.histogram(grey, bins=256, range=(0.0, 1.0))
    p = hist / max(hist.sum(), 1)
    centers = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(p)
    m0 = np.cumsum(p * centers)
    total = m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total * w0 - m0) ** 2 / (w0 * (1 - w0))
    return float(centers[int(np.nanargmax(between))])


def lesion_features(rgb: np.ndarray) -> np.ndarray:
    """12 colour / border / texture features of one RGB image (h, w, 3) in [0, 1], in the
    spirit of the ABCD rule the melanoma CAD literature uses (Afifi et al. 2019 cite colour,
    border and texture features; their exact set was not readable here):

    - lesion mask = pixels darker than Otsu's threshold of the grey image (lesions are darker
      than skin);
    - colour: mean and std of R, G, B over the mask (6);
    - border / asymmetry: ``|M - flip(M)| / |M|`` about the vertical and horizontal axes through
      the mask's centroid (2); compactness ``P^2 / (4 pi A)`` with ``P`` the count of mask
      pixels with a 4-neighbour outside (1: a disc; larger: irregular);
    - texture: mean and std of the grey gradient magnitude over the mask, and the entropy of
      the mask's 32-bin grey histogram (3).
    """
    img = np.asarray(rgb, dtype=np.float64)
    grey = img @ np.array([0.299, 0.587, 0.114])
    mask = grey < otsu_threshold(grey)
    if mask.sum() < 4 or mask.all():
        mask = np.ones_like(grey, dtype=bool)
    area = float(mask.sum())
    px = img[mask]
    ys, xs = np.nonzero(mask)
    cy, cx = int(round(ys.mean())), int(round(xs.mean()))
    h, w = mask.shape
    # shift the mask so its centroid is the image centre, then compare with its mirrors
    centred = np.roll(np.roll(mask, h // 2 - cy, axis=0), w // 2 - cx, axis=1)
    asym_x = float(np.logical_xor(centred, centred[:, ::-1]).sum() / area)
    asym_y = float(np.logical_xor(centred, centred[::-1, :]).sum() / area)
    pad = np.pad(mask, 1)
    inner = pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2] & pad[1:-1, 2:]
    perimeter = float((mask & ~inner).sum())
    gy, gx = np.gradient(grey)
    grad = np.hypot(gx, gy)[mask]
    hist = np.histogram(grey[mask], bins=32, range=(0.0, 1.0))[0] / area
    entropy = float(-(hist[hist > 0] * np.log2(hist[hist > 0])).sum())
    return np.array([*px.mean(0), *px.std(0), asym_x, asym_y,
                     perimeter**2 / (4 * np.pi * area), grad.mean(), grad.std(), entropy])


def image_folder(root: Any, size: int = 128) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features (n, 12) of ``lesion_features``, integer labels and class names from
    ``<root>/<class>/*.png|jpg`` (each image resized to ``size`` x ``size``, RGB)."""
    from pathlib import Path

    from PIL import Image

    base = Path(root)
    if not base.is_dir():
        raise DataError(f"image folder {str(base)!r} is not a directory: expected "
                        "<root>/<class>/*.png|jpg")
    classes = sorted(p.name for p in base.iterdir() if p.is_dir() and any(
        f.suffix.lower() in IMAGE_SUFFIXES for f in p.iterdir()))
    if len(classes) < 2:
        raise DataError(f"image folder {str(base)!r} has {len(classes)} class folder(s) with "
                        f"images {classes}: expected at least 2 (<root>/<class>/*.png|jpg)")
    feats, labels = [], []
    for label, name in enumerate(classes):
        for f in sorted((base / name).iterdir()):
            if f.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            with Image.open(f) as im:
                rgb = np.asarray(im.convert("RGB").resize((size, size)), np.float64) / 255.0
            feats.append(lesion_features(rgb))
            labels.append(label)
    return np.stack(feats), np.asarray(labels), classes
