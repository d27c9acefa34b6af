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
# its own). Only the retryable exit statuses restart (docs/runs.md#exit-codes): 3 (an
# environment/I-O fault: disk full, file system hiccup), 143 and 130 (the run was stopped by
# SIGTERM/SIGINT after saving a checkpoint, e.g. preempted). 0 (done), 1 (diverged) and 2 (a
# config/data mistake) are final, and so is any other status (a crash: a bug to report).
# SIGTERM or Ctrl-C sent to this script is passed on to the run as SIGTERM (it saves a
# checkpoint and stops) and ends the script instead of restarting. RESTART_DELAY (default 5)
# is the pause in seconds before a restart.
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
stopped=0 child=
stop() {  # a stop request for this script: the run saves a checkpoint and nothing restarts
  stopped=$1
  if [[ -n $child ]]; then kill -TERM "$child" 2>/dev/null; fi
}
trap 'stop 143' TERM
trap 'stop 130' INT

for ((attempt = 0; ; attempt++)); do
  python -m experiments.run --config="$config" --workdir="$workdir" "$@" &
  child=$!
  while true; do  # `wait` returns early when a trapped signal arrives; wait for the real end
    wait "$child"
    status=$?
    kill -0 "$child" 2>/dev/null || break
  done
  child=
  if ((stopped)); then
    exit "$stopped"
  fi
  case $status in
    3 | 130 | 143) ;;  # retryable: the run resumes from its latest checkpoint
    *) exit "$status" ;;
  esac
  if ((attempt >= max_restarts)); then
    echo "giving up after $max_restarts restarts (last exit status $status)" >&2
    exit "$status"
  fi
  echo "run exited with status $status; restarting from the latest checkpoint" >&2
  sleep "${RESTART_DELAY:-5}"
done
