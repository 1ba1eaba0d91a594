"""A growing vocabulary is embedded by its new tags only, with the same vectors."""

from __future__ import annotations

import numpy as np
import pytest

from services.ai import similarity


def test_names_seen_before_are_not_embedded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    names = ["machine learning", "astronomy", "tide tables"]
    expected = similarity.embed([*names, "volcanoes"])
    similarity.embed_names(names)
    embedded: list[list[str]] = []
    real_embed = similarity.embed

    def counting(texts: list[str]) -> np.ndarray:
        embedded.append(list(texts))
        return real_embed(texts)

    monkeypatch.setattr(similarity, "embed", counting)

    vectors = similarity.embed_names([*names, "volcanoes"])

    assert embedded == [["volcanoes"]]
    np.testing.assert_allclose(vectors, expected, rtol=1e-6)
