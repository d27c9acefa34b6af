"""Benchmarks: commands that print numbers (speed and memory targets live here, never in tests).

python -m experiments.bench --config=C            # train step: compile, step time, GFLOP/s
python -m experiments.bench.data --config=C       # input pipeline throughput
python -m experiments.bench.features              # FID feature extraction speed
python experiments/bench/torch_ref.py             # the PyTorch reference (needs torch)
"""
