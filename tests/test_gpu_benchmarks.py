"""The plumbing of scripts/gpu_benchmarks.py, tested without a GPU: every benchmark it runs
must take its flags, and a failed run must be recorded with its error, not lost."""

import sys

import pytest

from benchmarks import bert, gpt, word2vec
from scripts import gpu_benchmarks

PARSERS = {"benchmarks.gpt": lambda argv: gpt.parse_args("gpt", 2000, argv),
           "benchmarks.bert": lambda argv: bert.parse_args("bert", 4000, argv),
           "benchmarks.word2vec": word2vec.parse_args}


@pytest.mark.parametrize("name, module, arguments", [*gpu_benchmarks.BENCHMARKS, gpu_benchmarks.WORD2VEC],
                         ids=lambda value: value if isinstance(value, str) and "," in value else None)
def test_every_benchmark_takes_its_flags(name, module, arguments):
    PARSERS[module](arguments)  # an unknown or malformed flag exits here, not on the GPU


def test_a_run_returns_its_last_json_line_or_its_error():
    done = gpu_benchmarks.run_json([sys.executable, "-c", "print('progress'); print('{\"tokens_per_s\": 5}')"])
    assert done["tokens_per_s"] == 5 and done["seconds"] >= 0
    failed = gpu_benchmarks.run_json([sys.executable, "-c", "raise SystemExit('no CUDA here')"])
    assert "no CUDA here" in failed["error"]


def test_the_amp_runs_measure_noise_against_the_fp16_path():
    runs = gpu_benchmarks.AMP_RUNS
    assert ("bf16", 0) in runs and ("bf16", 1) in runs and ("fp16", 0) in runs  # fp16 vs bf16 vs seed noise
