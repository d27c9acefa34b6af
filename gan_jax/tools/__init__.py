"""Tools built on the training loop: ablation sweeps and benchmarks.

`ablation` (sweeps x seeds, tables and charts behind `experiments.ablate`), `bench_step` (the
train-step timing behind `experiments.bench`), `bench_data` (input-pipeline throughput behind
`experiments.bench.data`). The top layer: nothing in gan_jax imports it.
"""
