"""Our GPT against Hugging Face's GPT2LMHeadModel of the same size: training tokens per second.

    python -m benchmarks.gpt --threads 1                 # the book's CPU preset
    python -m benchmarks.gpt --device cuda --d-model 768 --layers 12 --heads 12 --seq 1024 --batch 16

Both models get the same configuration (vocabulary, context, width, layers, heads, no
dropout, GPT-2's pre-norm block and tied embeddings), the same random batches, the same
loss (next-token cross-entropy on float32 logits) and AdamW. They train in ONE process,
alternating one step each, so both see the same machine load; the first ``--warmup``
steps of each are not timed. On CUDA both run under bfloat16 autocast with fused AdamW,
and the result includes the model FLOPs utilisation (Chowdhery et al. 2022, appendix B):
``(6 N + 12 L d T) * tokens/s / peak``, with ``N`` the parameters (the tied head counted
once, its matmul is real work), ``L`` layers, ``d`` width, ``T`` sequence length. A CPU has
no published peak that its kernels can reach, so on the CPU the same process times a dense
float32 matrix multiply (``--matmul-size`` square, on the same threads, after the models'
steps) and reports the "CPU MFU": the model's FLOP/s as a fraction of that measured rate.

Prints ONE JSON line: ours/hf tokens_per_s, their ratio, parameter counts, device, shapes
(and on the CPU the matmul rate, each model's GFLOP/s and CPU MFU).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from contextlib import nullcontext

import torch
import torch.nn.functional as F

from ptm_lib.models.gpt import GPT, lm_loss
from ptm_lib.models.transformer import TransformerConfig

PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40": 181.0, "L4": 121.0, "A10": 125.0,
                    "V100": 125.0, "T4": 65.0}  # dense tensor-core peaks (fp16 for V100/T4)


# --- the two contenders ---

def build_ours(args: argparse.Namespace) -> GPT:
    return GPT(TransformerConfig(vocab_size=args.vocab, max_len=args.seq, d_model=args.d_model,
                                 n_layers=args.layers, n_heads=args.heads, dropout=0.0))


def build_hf(args: argparse.Namespace) -> torch.nn.Module:
    from transformers import GPT2Config, GPT2LMHeadModel
    from transformers.utils import logging

    logging.set_verbosity_error()
    config = GPT2Config(vocab_size=args.vocab, n_positions=args.seq, n_embd=args.d_model, n_layer=args.layers,
                        n_head=args.heads, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        bos_token_id=0, eos_token_id=0)
    return GPT2LMHeadModel(config)


def hf_loss(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """The same loss as :func:`ptm_lib.models.gpt.lm_loss`, on the HF model's logits."""
    logits = model(input_ids=batch[:, :-1], use_cache=False).logits
    return F.cross_entropy(logits.float().flatten(0, 1), batch[:, 1:].reshape(-1))


# --- timing ---

class Runner:
    """One model, its optimiser and loss, with the seconds spent in timed steps."""

    def __init__(self, model, loss_fn, device, amp: bool):
        self.model, self.loss_fn, self.device = model.to(device).train(), loss_fn, device
        fused = {"fused": True} if device.type == "cuda" else {}
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, **fused)
        self.autocast = torch.autocast(device.type, dtype=torch.bfloat16) if amp else nullcontext()
        self.seconds, self.loss = 0.0, float("nan")

    def step(self, batch: torch.Tensor, timed: bool) -> None:
        sync(self.device)
        start = time.perf_counter()
        with self.autocast:
            loss = self.loss_fn(self.model, batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        sync(self.device)
        if timed:
            self.seconds += time.perf_counter() - start
        self.loss = loss.item()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_gflops(size: int, repeats: int = 5, warmup: int = 2) -> float:
    """The CPU's dense float32 matrix-multiply rate in GFLOP/s, on torch's current threads:
    ``2 size^3`` FLOPs per ``torch.mm`` of two ``size x size`` matrices, the fastest of
    ``repeats`` timed calls after ``warmup`` untimed ones (the machine's reachable rate,
    the denominator of the CPU MFU)."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(size, size, generator=g), torch.randn(size, size, generator=g)
    out = torch.empty(size, size)
    for _ in range(warmup):
        torch.mm(a, b, out=out)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9


def cpu_matmul(device: torch.device, size: int) -> dict | None:
    """``{"size", "gflops"}`` of :func:`matmul_gflops` on the CPU (``size`` 0: not measured)."""
    if device.type != "cpu" or size <= 0:
        return None
    return {"size": size, "threads": torch.get_num_threads(), "gflops": round(matmul_gflops(size), 1)}


def peak_tflops(device: torch.device, flag: float | None) -> float | None:
    if flag is not None or device.type != "cuda":
        return flag
    name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in PEAK_BF16_TFLOPS.items() if key in name), None)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}"
    return f"cpu ({platform.processor() or platform.machine()}), torch {torch.__version__}"


def parse_args(description: str, vocab: int, argv: list[str] | None) -> tuple[argparse.Namespace, torch.device, bool]:
    """The flags both Transformer benchmarks take (defaults: the book's CPU-preset shapes);
    sets the torch threads and returns ``(args, device, use bf16 autocast)``."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--vocab", type=int, default=vocab)
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--seq", type=int, default=128, help="tokens per sequence (= max_len)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=30, help="timed steps for each model")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps for each model first")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--amp", choices=("auto", "bf16", "off"), default="auto", help="auto = bf16 on CUDA only")
    p.add_argument("--peak-tflops", type=float, default=None, help="the device's peak bf16 TFLOP/s (default by name)")
    p.add_argument("--matmul-size", type=int, default=2048,
                   help="CPU only: the square float32 matmul timed for the CPU MFU (0: skip)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    return args, device, args.amp == "bf16" or (args.amp == "auto" and device.type == "cuda")


def main(argv: list[str] | None = None) -> dict:
    args, device, amp = parse_args(__doc__.split("\n")[0], 2000, argv)

    torch.manual_seed(args.seed)
    runners = {"ours": Runner(build_ours(args), lm_loss, device, amp),
               "hf": Runner(build_hf(args), hf_loss, device, amp)}
    g = torch.Generator().manual_seed(args.seed)
    for i in range(args.warmup + args.steps):
        batch = torch.randint(0, args.vocab, (args.batch, args.seq + 1), generator=g).to(device)
        order = ("ours", "hf") if i % 2 == 0 else ("hf", "ours")  # alternate who goes first
        for name in order:
            runners[name].step(batch, timed=i >= args.warmup)

    tokens = args.steps * args.batch * args.seq
    peak = peak_tflops(device, args.peak_tflops)
    matmul = cpu_matmul(device, args.matmul_size)
    result = {"benchmark": "GPT training throughput vs transformers.GPT2LMHeadModel", "device": device_name(device),
              "threads": args.threads, "amp": "bf16" if amp else "off", "vocab": args.vocab, "d_model": args.d_model,
              "layers": args.layers, "heads": args.heads, "seq": args.seq, "batch": args.batch, "steps": args.steps}
    for name, runner in runners.items():
        n = sum(p.numel() for p in runner.model.parameters())
        rate = tokens / runner.seconds
        stats = {"tokens_per_s": round(rate), "params": n, "final_loss": round(runner.loss, 4)}
        flops_per_token = 6 * n + 12 * args.layers * args.d_model * args.seq
        if peak:
            stats["mfu"] = round(flops_per_token * rate / (peak * 1e12), 4)
        if matmul:
            stats["gflops"] = round(flops_per_token * rate / 1e9, 2)
            stats["cpu_mfu"] = round(stats["gflops"] / matmul["gflops"], 4)
        result[name] = stats
    result["ratio"] = round(result["ours"]["tokens_per_s"] / result["hf"]["tokens_per_s"], 3)
    if peak:
        result["peak_tflops"] = peak
    if matmul:
        result["matmul"] = matmul
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
