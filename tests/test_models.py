"""Letter classifiers: reproducible training, the CNN builders, and safe saving/loading."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from helpers.models import (
    LetterClassifier, ModelFileError, as_features, as_tensor, build_improved_cnn, build_original_cnn,
    load_classifier, save_classifier, seed_everything,
)
from helpers.reader import Reader

from helpers.backend import import_keras

keras = import_keras()


def tiny_letters(n: int = 48, size: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two easy classes: a vertical bar ("I") or a horizontal bar ("H"), (n, size, size) uint8."""
    rng = np.random.default_rng(seed)
    images = np.full((n, size, size), 255, np.uint8)
    labels = np.array(["I", "H"] * (n // 2))
    for k, label in enumerate(labels):
        offset = int(rng.integers(3, size - 3))
        if label == "I":
            images[k, 1:-1, offset - 1:offset + 1] = 0
        else:
            images[k, offset - 1:offset + 1, 1:-1] = 0
    return images, labels


def train_tiny(seed: int) -> list[np.ndarray]:
    images, labels = tiny_letters()
    keras.backend.clear_session()
    seed_everything(seed)
    model = build_improved_cnn(2, size=12, seed=seed, shrink=1)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    targets = keras.utils.to_categorical((labels == "H").astype(int), 2)
    model.fit(as_tensor(images), targets, epochs=2, batch_size=16, verbose=0, shuffle=True)
    return model.get_weights()


def test_same_seed_gives_the_same_weights() -> None:
    first, second, other = train_tiny(7), train_tiny(7), train_tiny(8)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_original_cnn_shapes_with_and_without_flatten() -> None:
    model = build_original_cnn(19)
    assert model.output_shape == (None, 19)
    assert [layer.__class__.__name__ for layer in model.layers].count("Flatten") == 1
    broken = build_original_cnn(19, flatten=False)
    assert broken.output_shape == (None, 6, 6, 19)  # Dense applied to every pixel: cannot match labels


def test_improved_cnn_output_and_switches() -> None:
    full = build_improved_cnn(32)
    bare = build_improved_cnn(32, augment=False, batch_norm=False, dropout=0.0)
    assert full.output_shape == bare.output_shape == (None, 32)
    names = [layer.name for layer in full.layers]
    assert "augmentation" in names
    assert not any("batch_normalization" in layer.name or "dropout" in layer.name for layer in bare.layers)


def test_features_and_tensors() -> None:
    letters = np.zeros((3, 60, 60), np.uint8)
    letters[:, 0, 0] = 255
    assert as_features(letters).shape == (3, 3600)
    assert as_tensor(letters).shape == (3, 60, 60, 1)
    assert as_tensor(letters).max() == 1.0 and as_tensor(letters).dtype == np.float32


def forest_classifier() -> LetterClassifier:
    from sklearn.ensemble import RandomForestClassifier

    images, labels = tiny_letters()
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(as_features(images), labels)
    return LetterClassifier("forest", forest, tuple(forest.classes_), letter_size=12)


def test_forest_round_trip(tmp_path: Path) -> None:
    classifier = forest_classifier()
    images, labels = tiny_letters(seed=1)
    path = save_classifier(classifier, tmp_path / "forest.skops")
    loaded = load_classifier(path)
    assert loaded.classes == ("H", "I") and loaded.letter_size == 12
    assert np.array_equal(loaded.predict(images), classifier.predict(images))
    assert (loaded.predict(images) == labels).mean() > 0.9
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forest.json", "forest.skops"]


def test_cnn_round_trip_in_safe_mode(tmp_path: Path) -> None:
    keras.backend.clear_session()
    seed_everything(0)
    model = build_improved_cnn(2, size=12, shrink=1)
    classifier = LetterClassifier("cnn", model, ("H", "I"), letter_size=12)
    images, _ = tiny_letters()
    path = save_classifier(classifier, tmp_path / "cnn.keras")
    loaded = load_classifier(path)
    np.testing.assert_allclose(loaded.predict_proba(images), classifier.predict_proba(images), atol=1e-6)


def test_cnn_reads_in_chunks_as_in_one_batch() -> None:
    keras.backend.clear_session()
    seed_everything(0)
    classifier = LetterClassifier("cnn", build_improved_cnn(2, size=12, shrink=1), ("H", "I"), letter_size=12)
    images, _ = tiny_letters(n=10)
    whole = classifier.predict_proba(images, batch_size=64)
    chunked = classifier.predict_proba(images, batch_size=3)  # 3 + 3 + 3 + 1 letters
    assert whole.shape == chunked.shape == (10, 2) and whole.dtype == np.float32
    np.testing.assert_allclose(chunked, whole, atol=1e-5)
    np.testing.assert_allclose(whole.sum(axis=1), 1.0, atol=1e-5)


def test_loading_problems_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="does not exist"):
        load_classifier(tmp_path / "nothing.skops")
    path = save_classifier(forest_classifier(), tmp_path / "forest.skops")
    path.with_suffix(".json").unlink()
    with pytest.raises(ModelFileError, match="missing"):
        load_classifier(path)
    path = save_classifier(forest_classifier(), tmp_path / "forest.skops")
    path.write_bytes(b"not a zip file at all")
    with pytest.raises(ModelFileError, match="could not load"):
        load_classifier(path)
    path = save_classifier(forest_classifier(), tmp_path / "forest.skops")
    meta = json.loads(path.with_suffix(".json").read_text())
    path.with_suffix(".json").write_text(json.dumps({**meta, "classes": ["A", "B"]}))
    with pytest.raises(ModelFileError, match="do not belong together"):
        load_classifier(path)


def test_untrusted_forest_is_refused(tmp_path: Path) -> None:
    import skops.io
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.preprocessing import FunctionTransformer

    images, labels = tiny_letters()
    forest = RandomForestClassifier(n_estimators=2, random_state=0).fit(as_features(images), labels)
    forest.sneaky = FunctionTransformer(func=os.system)  # a function reference inside the file
    path = tmp_path / "forest.skops"
    skops.io.dump(forest, path)
    path.with_suffix(".json").write_text(json.dumps({"kind": "forest", "classes": ["H", "I"], "letter_size": 12}))
    with pytest.raises(ModelFileError, match="refusing"):
        load_classifier(path)


def test_wrong_letter_size_and_alphabet() -> None:
    classifier = forest_classifier()
    with pytest.raises(ValueError, match="12x12"):
        classifier.predict_proba(np.zeros((1, 60, 60), np.uint8))
    with pytest.raises(ModelFileError, match="use X, which this model never learned"):
        Reader("rf", classifier).check_alphabet("HIX")
    Reader("rf", classifier).check_alphabet("IH")
