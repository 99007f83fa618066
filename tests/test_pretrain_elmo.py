"""Chapter 4's pretraining objective (ptm_lib.pretrain.elmo) on a tiny corpus."""

import pytest

from ptm_lib.data.bilm import build_vocab
from ptm_lib.models.elmo import BiLM, BiLMConfig
from ptm_lib.pretrain.elmo import train

pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
SENTENCES = [s.split() for s in ["the cat sat on the mat", "the dog sat on the log",
                                 "a cat and a dog ran", "the dog saw a cat on the mat"]]
VOCAB = build_vocab(SENTENCES * 2, min_count=1)


def test_train_on_a_tiny_corpus_measures_both_directions():
    config = BiLMConfig(vocab_size=len(VOCAB), d_model=8, max_chars=10, char_dim=4, filters=((1, 4), (2, 4), (3, 8)))
    model, history = train(config, VOCAB, steps=3, batch_size=2, seq_len=4, device="cpu",
                           documents=SENTENCES, held_out=SENTENCES[:2])
    assert isinstance(model, BiLM) and {"forward", "backward"} <= set(history.val[-1])
    with pytest.raises(ValueError, match="vocab_size"):
        train(BiLMConfig(vocab_size=5), VOCAB, steps=1, documents=SENTENCES)
