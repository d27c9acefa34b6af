"""Scoring a generator's samples: the metric registry, the Evaluator, offline evaluation.

`registry` (each metric once: name, keys, direction, which runs it applies to, chart panel),
`evaluator` (the `Evaluator` used during training and by `experiments.evaluate`), `offline`
(`evaluate_checkpoint`, scoring a saved checkpoint). Imports `metrics`, `feature_nets`, `runs`
and the layers below them.
"""
