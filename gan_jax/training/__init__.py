"""The training loop and what it drives: one loop for every trainable task.

`loop` (`train(task, workdir)`: resume, early return, writer and progress, the sample /
evaluation / checkpoint schedule, prefetch, history, metrics.json), `gan` (the GAN task and
`train_and_evaluate`), `parallel` (one device, jit + NamedSharding, or pmap), `monitor`
(progress pictures), `evals` (periodic evaluation), `history` (history.jsonl, loss curves,
progress GIF), `best` (the best checkpoint). Imports every layer below it; nothing below imports
it.
"""
