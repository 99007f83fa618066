import numpy as np
import pytest
import torch

from ptm_lib.data.batches import TensorBatches
from ptm_lib.data.bilm import build_vocab
from ptm_lib.data.wordpiece import train_wordpiece
from ptm_lib.models.bert import BERT, BertConfig
from ptm_lib.models.elmo import BiLM, BiLMConfig, embed_sentences
from ptm_lib.probing import (
    FeatureTagger,
    best_threshold,
    encode_words,
    pad_features,
    predict_tags,
    probe_accuracy,
    tagging_loss,
    threshold_accuracy,
    word_layer_vectors,
    word_vectors,
)
from ptm_lib.train import IGNORE, fit

SENTENCES = [s.split() for s in ["the cat sat on the mat", "a dog ran", "the dog saw a cat on the mat"]]
VOCAB = build_vocab(SENTENCES, min_count=1)


def tiny_bilm():
    torch.manual_seed(0)
    config = BiLMConfig(vocab_size=len(VOCAB), d_model=8, max_chars=10, char_dim=4, filters=((1, 4), (2, 4)),
                        n_highway=1)
    return BiLM(config).eval()


def test_word_layer_vectors_pick_the_word_at_every_layer():
    model = tiny_bilm()
    out = word_layer_vectors(model, VOCAB, SENTENCES, [1, 0, 4], batch_size=2)
    full = embed_sentences(model, VOCAB, SENTENCES)
    assert out.shape == (3, 3, 16)
    for i, p in enumerate([1, 0, 4]):
        torch.testing.assert_close(out[i], full[i][:, p])
    with pytest.raises(ValueError, match="outside the sentence"):
        word_layer_vectors(model, VOCAB, SENTENCES[:1], [6])
    with pytest.raises(ValueError, match="one word per sentence"):
        word_layer_vectors(model, VOCAB, SENTENCES, [0])


def test_probe_reads_a_linear_label_and_not_noise():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5))
    y = (x[:, 2] > 0).astype(int)
    assert probe_accuracy(x[:300], y[:300], x[300:], y[300:]) > 0.95
    noise = rng.integers(0, 2, size=400)
    assert probe_accuracy(x[:300], noise[:300], x[300:], noise[300:]) < 0.65
    with pytest.raises(ValueError, match="single class"):
        probe_accuracy(x[:10], np.zeros(10), x[10:20], np.zeros(10))
    with pytest.raises(ValueError, match="one width"):
        probe_accuracy(x[:10], y[:10], x[10:20, :3], y[10:20])


def test_pad_features_layout_and_errors():
    feats = [torch.randn(3, n, 4) for n in (2, 5)]
    data = pad_features(feats, [[1, 0], [0, 1, 2, 0, 1]])
    assert data["features"].shape == (2, 5, 3, 4) and data["attention_mask"].tolist() == [[1, 1, 0, 0, 0], [1] * 5]
    torch.testing.assert_close(data["features"][0, :2], feats[0].transpose(0, 1))
    assert (data["features"][0, 2:] == 0).all() and data["labels"][0].tolist() == [1, 0, IGNORE, IGNORE, IGNORE]
    batch = next(iter(TensorBatches({k: v[:1] for k, v in data.items()}, batch_size=1)))
    assert batch["features"].shape == (1, 2, 3, 4) and batch["labels"].shape == (1, 2)  # padding trimmed
    with_words = pad_features(feats, static=[torch.ones(2, 7), torch.ones(5, 7)])
    assert with_words["static"].shape == (2, 5, 7) and (with_words["static"][0, 2:] == 0).all()
    with pytest.raises(ValueError, match=r"one \(n_i, S\) matrix per sentence"):
        pad_features(feats, static=[torch.ones(3, 7), torch.ones(5, 7)])
    with pytest.raises(ValueError, match="one tag id per word"):
        pad_features(feats, [[1], [0, 1, 2, 0, 1]])
    with pytest.raises(ValueError, match=r"\(K=3, n_i, D=4\)"):
        pad_features([feats[0], torch.randn(2, 3, 4)])


def test_tagger_learns_a_contextual_rule_and_padding_does_not_leak():
    # the tag of a word is the *previous* word's feature sign: only a contextual tagger can learn it
    torch.manual_seed(0)
    feats = [torch.randn(2, n, 6) for n in torch.randint(3, 9, (200,)).tolist()]
    tags = [[0] + (f[1, :-1, 0] > 0).long().tolist() for f in feats]
    data = pad_features(feats, tags)
    tagger = FeatureTagger(n_layers=2, dim=6, n_tags=2, hidden=16, dropout=0.0)
    fit(tagger, TensorBatches(data, 32), tagging_loss, steps=300, lr=1e-2, log_every=300)
    predicted = predict_tags(tagger, data)
    accuracy = np.mean([p == t for ps, ts in zip(predicted, tags) for p, t in zip(ps, ts)])
    assert accuracy > 0.9 and [len(p) for p in predicted] == [len(t) for t in tags]
    assert tagger.mix.weights[1] > 0.6  # it learned to mix in the layer that holds the signal
    alone = predict_tags(tagger, pad_features(feats[:1]))  # no padding around it
    assert alone[0] == predicted[0]
    with pytest.raises(ValueError, match="static_dim=0"):
        predict_tags(tagger, pad_features(feats[:1], static=[torch.ones(len(tags[0]), 3)]))


def test_tagger_reads_static_word_vectors_beside_the_layers():
    # the signal is only in the static vectors: a tagger that concatenates them learns it
    torch.manual_seed(0)
    feats = [torch.randn(1, n, 4) for n in torch.randint(3, 9, (200,)).tolist()]
    words = [torch.randn(f.shape[1], 3) for f in feats]
    tags = [(w[:, 0] > 0).long().tolist() for w in words]
    tagger = FeatureTagger(n_layers=1, dim=4, n_tags=2, hidden=16, dropout=0.0, static_dim=3)
    fit(tagger, TensorBatches(pad_features(feats, tags, static=words), 32), tagging_loss, steps=200, lr=1e-2,
        log_every=200)
    predicted = predict_tags(tagger, pad_features(feats, static=words))
    assert np.mean([p == t for ps, ts in zip(predicted, tags) for p, t in zip(ps, ts)]) > 0.9


# ----------------------------------------------------------------------------- a BERT's word vectors


@pytest.fixture(scope="module")
def tokenizer():
    return train_wordpiece(["the bank raised rates", "banking is a business", "they played in the park"] * 3,
                           vocab_size=60)


def test_word_vectors_average_a_words_pieces_at_every_layer(tokenizer):
    torch.manual_seed(0)
    bert = BERT(BertConfig(tokenizer.vocab_size, max_len=16, d_model=8, n_layers=2, n_heads=2)).eval()
    sentences = [["the", "banking", "business"], ["they", "played"]]
    ids, mask, word_ids = encode_words(tokenizer, sentences)
    vectors = word_vectors(bert, tokenizer, sentences, [1, 0], batch_size=1)
    assert vectors.shape == (2, 3, 8)
    with torch.no_grad():
        states = torch.stack(bert(ids, attention_mask=mask).hidden_states, 1)  # (2, 3, T, 8)
    pieces = [t for t, w in enumerate(word_ids[0]) if w == 1]
    assert len(pieces) >= 1
    torch.testing.assert_close(vectors[0], states[0][:, pieces].mean(1))
    with pytest.raises(ValueError, match="outside the sentence"):
        word_vectors(bert, tokenizer, sentences, [3, 0])


def test_threshold_is_chosen_on_dev_and_applied_to_test():
    t, acc = best_threshold([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])
    assert acc == 1.0 and 0.2 < t < 0.8
    t, test_acc = threshold_accuracy([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], [0.3, 0.7], [1, 1])
    assert test_acc == (0.5 if t > 0.3 else 1.0)
    with pytest.raises(ValueError, match="as many labels"):
        best_threshold([0.1], [])
