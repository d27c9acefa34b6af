#!/usr/bin/env bash
# Train on one machine with all its accelerators, restarting after crashes or preemption.
#
#   launch/single_host.sh CONFIG WORKDIR [--config.x=y ...]
#   MAX_RESTARTS=5 launch/single_host.sh celeba64 runs/c64 --config.loss=ralsgan
#   GPUS=0,1,2,3 launch/single_host.sh celeba64 runs/c64 --config.parallel=pmap
#
# One process drives every visible GPU (GPUS picks them; default: all): the global batch
# (config.data.batch_size) is split over them, by jit + sharding (--config.parallel=sharded,
# the default) or by jax.pmap (--config.parallel=pmap). For several machines see
# launch/slurm.sh and launch/tpu_pod.sh.
# Every restart resumes from the latest checkpoint in WORKDIR (experiments.run does that on
# its own). Exit status 2 (a config/data mistake) and 1 (training diverged) are not retried.
set -uo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 CONFIG WORKDIR [--config.x=y ...]" >&2
  exit 2
fi
config=$1 workdir=$2
shift 2
cd "$(dirname "$0")/.."
# Let JAX take GPU memory as it needs it rather than 75% up front (plays well with TF's loader).
export XLA_PYTHON_CLIENT_PREALLOCATE=${XLA_PYTHON_CLIENT_PREALLOCATE:-false}
if [[ -n ${GPUS:-} ]]; then
  export CUDA_VISIBLE_DEVICES=$GPUS
fi
max_restarts=${MAX_RESTARTS:-3}

for ((attempt = 0; ; attempt++)); do
  python -m experiments.run --config="$config" --workdir="$workdir" "$@"
  status=$?
  if [[ $status -eq 0 || $status -eq 1 || $status -eq 2 ]]; then
    exit "$status"
  fi
  if ((attempt >= max_restarts)); then
    echo "giving up after $max_restarts restarts (last exit status $status)" >&2
    exit "$status"
  fi
  echo "run exited with status $status; restarting from the latest checkpoint" >&2
  sleep 5
done
