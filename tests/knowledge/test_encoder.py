"""The sentence encoder gives what PyTorch gives for all-MiniLM-L6-v2.

The reference vectors (`data/minilm_reference.json`) were computed once with PyTorch 2.13
and transformers from the same model files, in float (mean pooling over the attention mask,
then L2 normalisation, as sentence-transformers does); they are not produced by the code
under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from privacy_kb.encoder import DIMENSION, shared_encoder

REFERENCE = json.loads((Path(__file__).parent / "data" / "minilm_reference.json")
                       .read_text(encoding="utf-8"))


def test_vectors_match_pytorch() -> None:
    vectors = shared_encoder().encode(REFERENCE["texts"])
    reference = np.array(REFERENCE["vectors"])
    assert vectors.shape == (len(REFERENCE["texts"]), DIMENSION)
    assert np.abs(vectors - reference).max() < 1e-4


def test_a_texts_vector_does_not_depend_on_the_others() -> None:
    encoder = shared_encoder()
    alone = encoder.encode(["do you sell my data?"])
    together = encoder.encode(["do you sell my data?", REFERENCE["texts"][3]])
    assert np.array_equal(alone[0], together[0])


def test_vectors_are_unit_length_and_similar_texts_are_near() -> None:
    v = shared_encoder().encode(["do you sell my data?", "is my information sold?",
                                 "what is the weather tomorrow"])
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3


def test_empty_input_gives_no_rows() -> None:
    assert shared_encoder().encode([]).shape == (0, DIMENSION)
