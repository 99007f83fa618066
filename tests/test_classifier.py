import numpy as np
import pytest

from ptm_lib.evaluate import accuracy
from ptm_lib.models.classifier import bag_batches, build_classifier
from ptm_lib.train import classification_loss, fit


def test_batches_follow_embeddingbag_layout():
    docs = [np.array([1, 2, 3]), np.array([4]), np.array([5, 6])]
    (ids, offsets), y = bag_batches(docs, [0, 1, 0], batch_size=3)[0]
    assert ids.tolist() == [1, 2, 3, 4, 5, 6] and offsets.tolist() == [0, 3, 4] and y.tolist() == [0, 1, 0]
    with pytest.raises(ValueError, match="empty document"):
        bag_batches([np.array([], dtype=np.int64)], [0])


def test_regimes_copy_and_freeze_the_vectors():
    vectors = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    frozen = build_classifier(10, 2, "frozen", vectors)
    tuned = build_classifier(10, 2, "fine-tuned", vectors)
    random = build_classifier(10, 2, "random", dim=4)
    assert np.allclose(frozen.embedding.weight.detach().numpy(), vectors)
    assert not frozen.embedding.weight.requires_grad and tuned.embedding.weight.requires_grad
    assert not np.allclose(random.embedding.weight.detach().numpy(), vectors)
    batches = bag_batches([np.array([1, 2]), np.array([3])], [0, 1], batch_size=2)
    fit(frozen, batches, classification_loss, steps=3, lr=0.1)
    assert np.allclose(frozen.embedding.weight.detach().numpy(), vectors)  # frozen stays put
    fit(tuned, batches, classification_loss, steps=3, lr=0.1)
    assert not np.allclose(tuned.embedding.weight.detach().numpy(), vectors)
    with pytest.raises(ValueError, match="pass vectors="):
        build_classifier(10, 2, "frozen")
    with pytest.raises(ValueError, match="3 rows for a vocabulary of 10"):
        build_classifier(10, 2, "frozen", vectors[:3])


def test_pretrained_vectors_that_encode_the_topic_help_with_few_labels():
    """Words 0-49 belong to topic 0 and 50-99 to topic 1; 'pretrained' vectors know it."""
    rng = np.random.default_rng(0)
    topic_of_word = np.repeat([0, 1], 50)
    vectors = np.where(topic_of_word[:, None] == 0, 1.0, -1.0) + rng.normal(0, 0.3, (100, 8))

    def documents(n):
        labels = rng.integers(0, 2, n)
        return [rng.choice(np.flatnonzero(topic_of_word == y), 5) for y in labels], labels.tolist()

    train, test = documents(4), documents(400)
    results = {}
    for regime in ("random", "frozen"):
        model = build_classifier(100, 2, regime, vectors.astype(np.float32), seed=1)
        fit(model, bag_batches(*train, batch_size=4), classification_loss, steps=30, lr=0.05)
        results[regime] = accuracy(model, bag_batches(*test, batch_size=100))
    assert results["frozen"] > 0.95 and results["frozen"] > results["random"] + 0.2, results
