"""Bad input to the book's models gets a clear error that names the fix (the "bad input" issue).

Token ids outside the vocabulary used to give torch's ``index out of range in self`` or
``Target 70 is out of bounds``; one shared check (``transformer.check_ids``) now names the
vocabulary and the fix, in every model.
"""

import pytest
import torch

from ptm_lib.data.vocab import check_ids
from ptm_lib.models import bert, elmo, gpt, nnlm
from ptm_lib.models.transformer import TransformerConfig

V = 40
RETOKENIZE = r"outside the vocabulary 0..39 \(40 tokens in this model\); encode the"


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    config = dict(max_len=16, d_model=16, n_layers=1, n_heads=2)
    encoder = bert.BERT(bert.BertConfig(V, **config))
    return {"gpt": gpt.GPT(TransformerConfig(V, **config)), "bert": encoder,
            "pretraining": bert.BertForPretraining(encoder),
            "sequence": bert.BertForSequenceClassification(encoder, 3),
            "token": bert.BertForTokenClassification(encoder, 3), "span": bert.BertForSpanExtraction(encoder),
            "nnlm": nnlm.NNLM(nnlm.NNLMConfig(V, context=3, embed_dim=8, hidden=8)),
            "bilm": elmo.BiLM(elmo.BiLMConfig(V, d_model=8, n_layers=1, encoder="word")),
            "char_bilm": elmo.BiLM(elmo.BiLMConfig(V, d_model=8, n_layers=1, max_chars=8, filters=((1, 4), (2, 4))))}


IDS = torch.tensor([[2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12, 13]])


class TestTokenIds:
    @pytest.mark.parametrize("name", ["gpt", "bert", "nnlm", "bilm"])
    @pytest.mark.parametrize("bad", [V, -1])
    def test_every_model_names_the_vocabulary_and_the_fix(self, models, name, bad):
        ids = torch.tensor([[2, 3, bad]])
        with pytest.raises(ValueError, match=rf"ids hold {bad}, {RETOKENIZE}"):
            models[name](ids)

    @pytest.mark.parametrize("name", ["gpt", "bert", "nnlm"])
    def test_float_ids(self, models, name):
        with pytest.raises(TypeError, match=r"must be integer ids, got dtype torch.float32; encode the"):
            models[name](IDS[:, :3].float())

    def test_gpt_loss_names_the_vocabulary(self, models):  # used to be 'index out of range in self'
        # (lm_loss's own text is printed by chapter 6, so it is unchanged: the ids it feeds the model are
        # checked there, and an id that is only ever a target, in the last column, still reaches torch)
        with pytest.raises(ValueError, match=rf"token ids hold 70, {RETOKENIZE}"):
            gpt.lm_loss(models["gpt"], torch.tensor([[1, 70, 3, 4]]))

    def test_gpt_generate(self, models):
        model = models["gpt"]
        with pytest.raises(ValueError, match=rf"token ids hold {V}, {RETOKENIZE}"):
            model.generate(torch.tensor([[V]]), 2)
        with pytest.raises(ValueError, match=r"temperature must be a finite number >= 0.*temperature=1.0"):
            model.generate(IDS[:1], 2, temperature=float("nan"))
        with pytest.raises(ValueError, match=r"max_new_tokens must be a whole number >= 0.*max_new_tokens=25"):
            model.generate(IDS[:1], 2.5)
        with pytest.raises(ValueError, match=r"top_k must be a positive integer or None.*top_k=10"):
            model.generate(IDS[:1], 2, top_k=2.5)

    def test_nnlm_loss_and_padding(self, models):
        model = models["nnlm"]
        with pytest.raises(ValueError, match=r"next-word ids hold 40, .*encode the words with the Vocab"):
            nnlm.nnlm_loss(model, (torch.tensor([[1, 2, 3]]), torch.tensor([V])))
        with pytest.raises(ValueError, match=r"word ids hold 40, .*encode the words with the Vocab"):
            model.next_word_distribution([1], pad_id=V)

    def test_bilm(self, models):
        words = torch.tensor([[2, -2, 3]])
        with pytest.raises(ValueError, match=r"word ids hold -2, outside the vocabulary.*encode_batch\(sentences, voc"):
            elmo.bilm_loss(models["char_bilm"], (words, torch.zeros(1, 3, 8, dtype=torch.long)))
        with pytest.raises(ValueError, match=r"character ids hold 300, .*make them with char_ids or encode_batch"):
            models["char_bilm"](torch.tensor([[2, 3]]), torch.full((1, 2, 8), 300))

    def test_check_ids_allows_an_ignored_label(self):
        check_ids(torch.tensor([0, -100, 2]), 3, "labels", "fix", ignore=-100)
        with pytest.raises(ValueError, match="labels hold 3, outside the vocabulary 0..2"):
            check_ids(torch.tensor([0, -100, 3]), 3, "labels", "fix", ignore=-100)


class TestBert:
    def test_an_empty_sequence(self, models):  # used to fail in the pooler with an IndexError
        with pytest.raises(ValueError, match=r"no tokens \(length 0\).*encode at least \[CLS\] text \[SEP\]"):
            models["bert"](torch.zeros(1, 0, dtype=torch.long))

    def test_masked_lm_labels(self, models):
        with pytest.raises(ValueError, match=r"masked-LM labels hold 41, .*build them with ptm_lib.data.mlm.mask_for"):
            bert.mlm_loss(models["pretraining"], {"ids": IDS, "labels": torch.full_like(IDS, V + 1)})

    def test_classification_labels(self, models):
        with pytest.raises(ValueError, match=r"labels hold 3, outside the classes 0..2 .*num_labels = the number of"):
            bert.sequence_classification_loss(models["sequence"], {"ids": IDS, "labels": torch.tensor([0, 3])})
        labels = torch.full_like(IDS, bert.IGNORE)
        labels[0, 1] = 5
        with pytest.raises(ValueError, match=r"labels hold 5, outside the classes 0..2"):
            bert.token_classification_loss(models["token"], {"ids": IDS, "labels": labels})

    def test_span_positions(self, models):
        batch = {"ids": IDS, "start": torch.tensor([0, 9]), "end": torch.tensor([1, 2])}
        with pytest.raises(ValueError, match=r"batch\['start'\] positions hold 9, outside the positions 0..5.*"
                                             r"encode_spans"):
            bert.span_loss(models["span"], batch)

    def test_shapes_of_the_helpers(self):
        with pytest.raises(ValueError, match=r"attention_mask has shape \(2, 5\) but hidden has \(2, 6\)"):
            bert.mean_pool(torch.randn(2, 6, 4), torch.ones(2, 5))
        with pytest.raises(ValueError, match="same shape.*pass the two outputs of BertForSpanExtraction"):
            bert.best_span(torch.randn(2, 6), torch.randn(2, 5))

    def test_valid_batches_still_work(self, models):
        labels = torch.full_like(IDS, bert.IGNORE)
        labels[:, 2] = IDS[:, 2]
        assert torch.isfinite(bert.mlm_loss(models["pretraining"], {"ids": IDS, "labels": labels}))
        assert torch.isfinite(bert.token_classification_loss(models["token"], {"ids": IDS, "labels": labels % 3}))
        assert models["gpt"].generate(IDS[:1], 3, greedy=True).shape == (1, 9)
