"""ptm_lib: the library behind "Pretrained Language Models, from word embeddings to BERT".

One idea per module, in the order the book tells the story:

* ``runtime`` -- device, seeds, threads and the cpu/gpu scale presets every chapter uses;
* ``data.sources`` -- data sets from pinned PyPI packages, sha256-verified; ``data.images``,
  ``data.text``, ``data.vocab``, ``data.wordsets`` (benchmarks and the published
  ``GloVeVectors``), ``data.lm`` (chapter 2 and GPT's language-model data), ``data.skipgram``,
  ``data.bilm`` (ELMo's inputs) and ``data.mlm`` (BERT's) turn them into tensors for each
  objective; ``data.batches`` -- the one batcher (``TensorBatches``) they are trained with;
* ``models`` -- ``vision`` (chapter 1), ``ngram`` and ``nnlm`` (chapter 2), ``huffman``,
  ``word2vec``, ``glove`` and ``classifier`` (chapter 3); ``elmo`` (chapter 4);
  ``transformer`` (the one block GPT and BERT share), ``sequence`` (LSTM and CNN
  baselines) (chapter 5); ``gpt`` (chapter 6); ``bert`` (chapter 7);
* ``data.bpe`` and ``data.wordpiece`` -- subword tokenizers; ``data.ner`` (WNUT-16 named
  entities), ``data.wic`` and ``data.postags`` (chapters 4 and 7); ``data.synthetic``
  (chapter 5), ``data.bible`` and ``data.tasks`` (chapter 6), ``data.spans`` (a cloze span
  task) (chapter 7);
* ``probing`` -- chapter 4's word vectors by layer (ELMo's and a BERT's), linear probes and
  a tagger on frozen features; ``finetune.gpt`` and ``finetune.bert`` -- fine-tuning GPT
  (chapter 6) and BERT (chapter 7); ``bertology`` -- attention patterns of a trained BERT
  (chapter 7);
* ``pretrain`` -- ``python -m ptm_lib.pretrain gpt|bert|elmo``, the entry points that train
  the checkpoints in ``data/checkpoints`` (``pretrain.gpt``, ``pretrain.bert``,
  ``pretrain.elmo``); ``checkpoints`` -- the one file format every model is saved in
  (``save``, ``load``, ``book_checkpoint``); ``pretrained`` -- real GPT-2 and BERT weights loaded
  into our models; ``long_range`` and ``speed`` -- chapter 5's long-range and throughput
  measurements;
* ``train`` -- the one training loop (with ``evaluating`` and ``IGNORE``); ``evaluate`` --
  accuracy (written once: ``fraction_correct``, ``predict``, ``accuracy``), analogies,
  similarity; ``viz`` -- the plots and explorers.
"""

__version__ = "0.1.0"
