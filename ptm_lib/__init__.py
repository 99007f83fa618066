"""ptm_lib: the library behind "Pretrained Language Models, from word embeddings to BERT".

One idea per module, in the order the book tells the story:

* ``runtime`` -- device, seeds, threads and the cpu/gpu scale presets every chapter uses;
* ``data.hub`` -- data sets from pinned PyPI packages, sha256-verified; ``data.images``,
  ``data.text``, ``data.vocab``, ``data.wordsets``, ``data.lm``, ``data.skipgram`` turn
  them into tensors for each objective;
* ``models`` -- ``vision`` (chapter 1), ``ngram`` and ``nnlm`` (chapter 2), ``huffman``,
  ``word2vec``, ``glove`` and ``classifier`` (chapter 3); ``transformer`` (the one block
  GPT and BERT share), ``sequence`` (LSTM and CNN baselines) (chapter 5); ``gpt`` and
  ``gpt_tasks`` (chapter 6); ``bert`` (chapter 7);
* ``data.bpe`` and ``data.wordpiece`` -- subword tokenizers; ``data.synthetic`` (chapter 5),
  ``data.bible`` and ``data.tasks`` (chapter 6), ``data.mlm``, ``data.ner`` (WNUT-16 named
  entities) and ``data.spans`` (a cloze span task) (chapter 7); ``data.wic`` and
  ``data.postags`` (chapters 4 and 7);
* ``pretrain``, ``pretrain_elmo``, ``pretrain_bert`` -- the entry points that train the
  checkpoints in ``data/checkpoints``; ``finetune`` -- BERT's fine-tuning recipe;
  ``bertology`` -- attention patterns and contextual word vectors of a trained BERT;
  ``hub`` -- real GPT-2 and BERT weights loaded into our models; ``experiments`` and
  ``speed`` -- chapter 5's long-range and throughput measurements;
* ``train`` -- the one training loop; ``evaluate`` -- accuracy, analogies, similarity;
  ``viz`` -- the plots and explorers.
"""

__version__ = "0.1.0"
