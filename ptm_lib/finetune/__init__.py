"""Fine-tuning a pretrained model on a labelled task: GPT's way and BERT's way.

Both papers keep the pretrained network whole, add one small output layer and train every
weight briefly on the task's labels; they differ in how a task's text reaches the network:

* :mod:`ptm_lib.finetune.gpt` (chapter 6, Radford et al. 2018) -- every task is rewritten
  as token sequences a left-to-right decoder can read (``<s> premise <$> hypothesis <e>``),
  one linear layer reads the state at the extract token ``<e>``, and the language-model
  loss can stay on as an auxiliary objective; plus zero-shot choice, with no training.
* :mod:`ptm_lib.finetune.bert` (chapter 7, Devlin et al. 2019) -- ``[CLS] A [SEP] B [SEP]``
  inputs, a head on the ``[CLS]`` vector or on every token, and BERT's recipe of
  optimiser and schedule (:func:`~ptm_lib.finetune.bert.fine_tune`).

What they share lives where the earlier chapters already use it:
:class:`ptm_lib.data.batches.TensorBatches` cuts an encoded data set into shuffled
mini-batches (each cut to its longest sequence), :func:`ptm_lib.train.fit` trains, and
:func:`ptm_lib.evaluate.predict` and :func:`ptm_lib.evaluate.accuracy` run and score the
fine-tuned model. (Pretraining the two models is :mod:`ptm_lib.pretrain`'s ``gpt`` and
``bert``.)
"""

from . import bert, gpt

__all__ = ["bert", "gpt"]
