"""The run folder on disk: what a run writes and how it is read back.

`run_files` (config.json, config_history.jsonl, model.json and the folder's file names),
`checkpoint` (orbax periodic/keep-N/async saves, exact restores, shape checks against a
checkpoint's metadata, damaged checkpoints set aside), `restore` (template-free partial restores as
numpy, run and step resolution), `loading` (`gan_jax.load`: a trained generator in a notebook).
Imports `platform`, `config`, `models`, `core`; never the training loop.
"""
