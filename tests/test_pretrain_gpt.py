"""Chapter 6's pretraining objective (ptm_lib.pretrain.gpt): the token stream and its perplexity."""

import torch

from ptm_lib.data import lm
from ptm_lib.data.bpe import train_bpe
from ptm_lib.models.gpt import GPT
from ptm_lib.models.transformer import TransformerConfig
from ptm_lib.pretrain.gpt import stream_perplexity, token_stream

TEXTS = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"] * 5


def test_stream_and_perplexity_of_an_untrained_model_is_near_vocab_size():
    tokenizer = train_bpe(TEXTS, vocab_size=60)
    stream = token_stream(tokenizer, TEXTS)
    assert stream.dtype == torch.long and len(stream) == sum(len(tokenizer.encode(t)) for t in TEXTS)
    torch.manual_seed(0)
    model = GPT(TransformerConfig(vocab_size=tokenizer.vocab_size, max_len=8, d_model=16, n_layers=1, n_heads=2))
    ppl = stream_perplexity(model, lm.chunks(stream, 8))
    assert 0.7 * tokenizer.vocab_size < ppl < 1.3 * tokenizer.vocab_size
    assert model.training  # restored
