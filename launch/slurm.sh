#!/usr/bin/env bash
# Multi-node GPU training under SLURM: one process per GPU (default) or per node, all joined by
# jax.distributed (JAX reads the job from SLURM's variables). Submit from the repository root,
# with the Python environment active (sbatch exports it to every task):
#
#   sbatch launch/slurm.sh CONFIG WORKDIR [--config.x=y ...]
#   sbatch --nodes=4 --gpus-per-node=8 --ntasks-per-node=8 launch/slurm.sh celeba64 /shared/runs/c64
#   PROCS=node sbatch --nodes=2 --ntasks-per-node=1 launch/slurm.sh celeba64 /shared/runs/c64
#
# WORKDIR must be on a file system every node sees (NFS, Lustre, GPFS): all processes save
# the checkpoints there together and process 0 writes the logs, samples and metrics.json.
# With --ntasks-per-node=G (PROCS=gpu) each task drives GPU $SLURM_LOCALID; with PROCS=node
# and --ntasks-per-node=1 one process drives all the node's GPUs. The global batch
# (config.data.batch_size) is split over all GPUs of all nodes; each process reads only its
# rows. `--requeue` (below) restarts a preempted job, which resumes from the latest checkpoint:
# SLURM sends SIGTERM first, every process stops at the same step and saves it (exit 143). A run
# that ends with a retryable status (3: environment/I-O fault, 130/143: stopped by a signal;
# docs/runs.md#exit-codes) requeues the job itself (REQUEUE=0 turns that off).
#
#SBATCH --job-name=gan_jax
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=8
#SBATCH --gpus-per-node=8
#SBATCH --cpus-per-task=8
#SBATCH --time=24:00:00
#SBATCH --requeue
#SBATCH --output=slurm-%j.out
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: sbatch launch/slurm.sh CONFIG WORKDIR [--config.x=y ...]" >&2
  exit 2
fi
config=$1 workdir=$2
shift 2
cd "${SLURM_SUBMIT_DIR:-$(dirname "$0")/..}"
if [[ ! -f experiments/run.py ]]; then
  echo "error: submit from the gan_jax repository root (no experiments/run.py in $PWD)" >&2
  exit 2
fi
python=${PYTHON:-python}
# Let JAX take GPU memory as it needs it rather than 75% up front (plays well with TF's loader).
export XLA_PYTHON_CLIENT_PREALLOCATE=${XLA_PYTHON_CLIENT_PREALLOCATE:-false}

case ${PROCS:-gpu} in
  gpu) ;;  # JAX gives task i of a node the node's GPU i (SLURM_LOCALID)
  node)
    gpus=${SLURM_GPUS_ON_NODE:-$(nvidia-smi -L | wc -l)}
    export JAX_LOCAL_DEVICE_IDS
    JAX_LOCAL_DEVICE_IDS=$(seq -s, 0 $((gpus - 1)))  # every GPU of the node to its one process
    ;;
  *)
    echo "error: PROCS=${PROCS} is not valid; choose gpu or node" >&2
    exit 2
    ;;
esac

status=0
srun --kill-on-bad-exit=1 "$python" -m experiments.run --distributed=on \
  --config="$config" --workdir="$workdir" "$@" || status=$?
case $status in
  3 | 130 | 143)
    if [[ ${REQUEUE:-1} != 0 && -n ${SLURM_JOB_ID:-} ]]; then
      echo "run exited with status $status; requeueing job $SLURM_JOB_ID" >&2
      scontrol requeue "$SLURM_JOB_ID"
    fi
    ;;
esac
exit "$status"
