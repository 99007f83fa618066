"""Our BERT against Hugging Face's BertForMaskedLM of the same size: training and inference tokens per second.

    python -m benchmarks.bert --threads 1                 # the book's CPU preset
    python -m benchmarks.bert --device cuda --vocab 30522 --d-model 768 --layers 12 --heads 12 --seq 512 --batch 32

Both models get the same configuration (vocabulary, context, width, layers, heads, no
dropout, BERT's post-norm block, tied output layer), the same random batches of two
segments, masked the same way (:func:`ptm_lib.data.mlm.mask_for_mlm`, 15% of the tokens),
and AdamW. Training minimises the masked-LM cross-entropy (float32 logits): ours with
:func:`ptm_lib.models.bert.mlm_loss`, which runs the ``V``-wide output layer on the masked
positions only (as Google's original code does), Hugging Face's on every position and then
ignores the unmasked ones. Inference is a forward pass without gradients that returns the
masked-LM logits of *every* position, for both. The two models run in ONE process,
alternating one step each, so both see the same machine load; the first ``--warmup`` steps
of each are not timed. On CUDA both run under bfloat16 autocast with fused AdamW, and the
result includes the model FLOPs utilisation (Chowdhery et al. 2022, appendix B) of the
FLOPs each model actually needs per token (see :func:`flops_per_token`). On the CPU the
same FLOPs are divided by the dense float32 matmul rate the same process measures
(:func:`benchmarks.gpt.matmul_gflops`): the "CPU MFU".

Prints ONE JSON line: tokens_per_s for training and inference, their ratios (ours / hf),
parameter counts, final losses, device and shapes (and on the CPU the matmul rate, each
model's GFLOP/s and CPU MFU).
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import nullcontext

import torch
import torch.nn.functional as F

from benchmarks.gpt import Runner, cpu_matmul, device_name, parse_args, peak_tflops, sync
from ptm_lib.data.mlm import IGNORE, mask_for_mlm
from ptm_lib.models.bert import BertConfig, BertForPretraining, mlm_loss

PAD, UNK, CLS, SEP, MASK = range(5)  # the first five ids play BERT's special tokens


# --- the two contenders ---

def build_ours(args: argparse.Namespace) -> BertForPretraining:
    return BertForPretraining(BertConfig(vocab_size=args.vocab, max_len=args.seq, d_model=args.d_model,
                                         n_layers=args.layers, n_heads=args.heads, dropout=0.0))


def build_hf(args: argparse.Namespace) -> torch.nn.Module:
    from transformers import BertConfig as HFBertConfig
    from transformers import BertForMaskedLM
    from transformers.utils import logging

    logging.set_verbosity_error()
    config = HFBertConfig(vocab_size=args.vocab, max_position_embeddings=args.seq, hidden_size=args.d_model,
                          num_hidden_layers=args.layers, num_attention_heads=args.heads,
                          intermediate_size=4 * args.d_model, hidden_dropout_prob=0.0,
                          attention_probs_dropout_prob=0.0, pad_token_id=PAD)
    return BertForMaskedLM(config)


def hf_loss(model: torch.nn.Module, batch: dict) -> torch.Tensor:
    """The same masked-LM loss as :func:`ptm_lib.models.bert.mlm_loss`, on the HF model's logits."""
    logits = model(input_ids=batch["ids"], token_type_ids=batch["segments"]).logits
    return F.cross_entropy(logits.float().flatten(0, 1), batch["labels"].reshape(-1), ignore_index=IGNORE)


def ours_logits(model: BertForPretraining, batch: dict) -> torch.Tensor:
    return model(batch["ids"], batch["segments"])[0]


def hf_logits(model: torch.nn.Module, batch: dict) -> torch.Tensor:
    return model(input_ids=batch["ids"], token_type_ids=batch["segments"]).logits


def make_batch(args: argparse.Namespace, g: torch.Generator, device: torch.device) -> dict:
    """``[CLS] A [SEP] B [SEP]`` of random tokens (A and B half each), masked at 15%."""
    ids = torch.randint(5, args.vocab, (args.batch, args.seq), generator=g)
    half = args.seq // 2
    ids[:, 0], ids[:, half - 1], ids[:, -1] = CLS, SEP, SEP
    segments = torch.zeros_like(ids)
    segments[:, half:] = 1
    inputs, labels = mask_for_mlm(ids, args.vocab, {PAD, UNK, CLS, SEP, MASK}, MASK, generator=g)
    return {"ids": inputs.to(device), "segments": segments.to(device), "labels": labels.to(device)}


# --- measuring ---

def flops_per_token(args: argparse.Namespace, head_fraction: float, training: bool) -> float:
    """Matrix-multiply FLOPs per token: ``2 x`` (forward) or ``6 x`` (training) the weights
    each token passes through, plus attention's ``2 L T d`` (``x 3`` for training); the
    masked-LM head (``d^2 + d V``) counts for the ``head_fraction`` of positions it runs on."""
    d, L, T, V = args.d_model, args.layers, args.seq, args.vocab
    body = L * (4 * d * d + 2 * d * 4 * d)  # Q, K, V, W^O and the two feed-forward matrices
    per_pass = body + (d * d + d * V) * head_fraction
    return (6 if training else 2) * per_pass + (12 if training else 4) * L * T * d


def time_inference(runners: dict, logits_fns: dict, batches: list, device, amp: bool, warmup: int) -> dict:
    """Seconds each model spends in forward passes over ``batches`` (after the first
    ``warmup``), alternating the models batch by batch, as in training."""
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if amp else nullcontext()
    seconds = {name: 0.0 for name in runners}
    for runner in runners.values():
        runner.model.eval()
    with torch.inference_mode(), autocast:
        for i, batch in enumerate(batches):
            for name in (("ours", "hf") if i % 2 == 0 else ("hf", "ours")):
                sync(device)
                start = time.perf_counter()
                logits_fns[name](runners[name].model, batch)
                sync(device)
                if i >= warmup:
                    seconds[name] += time.perf_counter() - start
    for runner in runners.values():
        runner.model.train()
    return seconds


def main(argv: list[str] | None = None) -> dict:
    args, device, amp = parse_args(__doc__.split("\n")[0], 4000, argv)

    torch.manual_seed(args.seed)
    runners = {"ours": Runner(build_ours(args), mlm_loss, device, amp),
               "hf": Runner(build_hf(args), hf_loss, device, amp)}
    g = torch.Generator().manual_seed(args.seed)
    batches = [make_batch(args, g, device) for _ in range(args.warmup + args.steps)]
    for i, batch in enumerate(batches):
        order = ("ours", "hf") if i % 2 == 0 else ("hf", "ours")  # alternate who goes first
        for name in order:
            runners[name].step(batch, timed=i >= args.warmup)
    inference = time_inference(runners, {"ours": ours_logits, "hf": hf_logits}, batches + batches, device, amp,
                               args.warmup)  # each batch twice: inference is about twice as fast

    tokens = args.steps * args.batch * args.seq
    masked = sum((b["labels"] != IGNORE).sum().item() for b in batches) / (len(batches) * args.batch * args.seq)
    peak = peak_tflops(device, args.peak_tflops)
    matmul = cpu_matmul(device, args.matmul_size)
    result = {"benchmark": "BERT masked-LM training and inference vs transformers.BertForMaskedLM",
              "device": device_name(device), "threads": args.threads, "amp": "bf16" if amp else "off",
              "vocab": args.vocab, "d_model": args.d_model, "layers": args.layers, "heads": args.heads,
              "seq": args.seq, "batch": args.batch, "steps": args.steps, "masked_fraction": round(masked, 4)}
    for name, runner in runners.items():
        train_rate = tokens / runner.seconds
        infer_rate = (2 * len(batches) - args.warmup) * args.batch * args.seq / inference[name]
        stats = {"train_tokens_per_s": round(train_rate), "infer_tokens_per_s": round(infer_rate),
                 "params": sum(p.numel() for p in runner.model.parameters()), "final_loss": round(runner.loss, 4)}
        fraction = masked if name == "ours" else 1.0
        train_flops = flops_per_token(args, fraction, True) * train_rate
        infer_flops = flops_per_token(args, 1.0, False) * infer_rate
        if peak:
            stats["train_mfu"] = round(train_flops / (peak * 1e12), 4)
            stats["infer_mfu"] = round(infer_flops / (peak * 1e12), 4)
        if matmul:
            stats["train_gflops"], stats["infer_gflops"] = round(train_flops / 1e9, 2), round(infer_flops / 1e9, 2)
            stats["train_cpu_mfu"] = round(stats["train_gflops"] / matmul["gflops"], 4)
            stats["infer_cpu_mfu"] = round(stats["infer_gflops"] / matmul["gflops"], 4)
        result[name] = stats
    for kind in ("train", "infer"):
        rates = [result[name][f"{kind}_tokens_per_s"] for name in ("ours", "hf")]
        result[f"{kind}_ratio"] = round(rates[0] / rates[1], 3)
    if peak:
        result["peak_tflops"] = peak
    if matmul:
        result["matmul"] = matmul
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
