"""Which tags mean the same: word embeddings that ship inside the ``wordllama`` wheel.

The model (256 dimensions, 16 MB) and its tokenizer are read from the installed package,
never from the network: :func:`embedder` opens the two files itself instead of going
through ``WordLlama.load``, which looks for the tokenizer where the wheel does not put it
and would then try Hugging Face. It is loaded once per process, on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import Any

import numpy as np
from numpy.typing import NDArray

WEIGHTS = "weights/l2_supercat_256.safetensors"
TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"

_load_lock = threading.Lock()


@cache
def _loaded() -> Any:
    from safetensors import safe_open
    from tokenizers import Tokenizer
    from wordllama.inference import WordLlamaInference

    root = files("wordllama")
    with safe_open(str(root / WEIGHTS), framework="np") as weights:
        embedding = weights.get_tensor("embedding.weight")
    return WordLlamaInference(embedding, Tokenizer.from_file(str(root / TOKENIZER)))


def embedder() -> Any:
    """Return the process's WordLlama model, loaded once from the installed wheel."""
    with _load_lock:
        return _loaded()


def embed(texts: Sequence[str]) -> NDArray[np.float32]:
    """Return the unit-length embeddings of ``texts``, one row each."""
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    vectors = embedder().embed(list(texts), norm=True)
    return np.asarray(vectors, dtype=np.float32)


#: Tag embeddings kept per process: a vocabulary that grows by a tag is not embedded
#: again whole (2,000 tags: 55 ms). Emptied when it holds this many.
MAX_REMEMBERED = 50_000
_remembered: dict[str, NDArray[np.float32]] = {}
_remembered_lock = threading.Lock()


def embed_names(names: Sequence[str]) -> NDArray[np.float32]:
    """Return :func:`embed` of ``names``, embedding only those not seen before."""
    with _remembered_lock:
        missing = [name for name in dict.fromkeys(names) if name not in _remembered]
    if missing:
        fresh = embed(missing)
        with _remembered_lock:
            if len(_remembered) + len(missing) > MAX_REMEMBERED:
                _remembered.clear()
            _remembered.update(zip(missing, fresh, strict=True))
    if not names:
        return embed([])
    with _remembered_lock:
        known = [_remembered.get(name) for name in names]
    if any(vector is None for vector in known):  # emptied meanwhile by another thread
        return embed(names)
    return np.stack(known)  # type: ignore[arg-type]


def nearest(
    text: str, candidates: NDArray[np.float32], exclude: Sequence[int] = ()
) -> tuple[int, float]:
    """Return the row of ``candidates`` most similar to ``text`` and its cosine similarity.

    (-1, 0.0) when there is no candidate; rows in ``exclude`` are skipped.
    """
    if candidates.shape[0] == 0:
        return -1, 0.0
    scores = candidates @ embed([text])[0]
    for row in exclude:
        scores[row] = -1.0
    best = int(np.argmax(scores))
    return best, float(scores[best])
