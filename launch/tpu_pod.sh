#!/usr/bin/env bash
# Train on a Cloud TPU VM pod slice (e.g. v4-32, v5e-64): the same command on every worker,
# joined by jax.distributed (JAX reads the slice's layout from the TPU metadata). Run it from
# your workstation, in a gan_jax checkout, with gcloud logged in:
#
#   launch/tpu_pod.sh TPU_NAME ZONE CONFIG WORKDIR [--config.x=y ...]
#   launch/tpu_pod.sh my-v4-32 us-central2-b celeba64 /mnt/shared/runs/c64 --config.loss=ralsgan
#   REPO_URL=https://github.com/you/gan_jax.git REF=main launch/tpu_pod.sh my-v4-32 ...
#
# The code: with REPO_URL set, every worker clones (or fetches) it and checks out REF (default:
# this checkout's commit); otherwise this checkout's files (tracked and untracked, not
# ignored) are copied to every worker. Each worker then installs it with jax[tpu] into
# ~/gan_jax_venv (SETUP=0 skips the install on later runs) and runs experiments.run.
# WORKDIR must be a folder every worker sees (a Filestore/NFS mount, or a gcsfuse-mounted
# bucket): all workers save checkpoints there together and worker 0 writes the logs, samples
# and metrics.json. Rerunning the command resumes from the latest checkpoint. DETACH=1 starts
# the run in the background on each worker (log: ~/gan_jax_run.log) and returns at once.
# Extra gcloud flags (e.g. --project=P --internal-ip): GCLOUD_FLAGS="...".
set -euo pipefail
if [[ $# -lt 4 ]]; then
  echo "usage: launch/tpu_pod.sh TPU_NAME ZONE CONFIG WORKDIR [--config.x=y ...]" >&2
  exit 2
fi
tpu=$1 zone=$2 config=$3 workdir=$4
shift 4
cd "$(dirname "$0")/.."
read -r -a gcloud_flags <<<"${GCLOUD_FLAGS:-}"
ssh_all=(gcloud compute tpus tpu-vm ssh "$tpu" --zone="$zone" --worker=all "${gcloud_flags[@]}")

if [[ -n ${REPO_URL:-} ]]; then
  ref=${REF:-$(git rev-parse HEAD)}
  fetch="if [ ! -d gan_jax ]; then git clone --quiet $(printf '%q' "$REPO_URL") gan_jax; fi"
  fetch+=" && git -C gan_jax fetch --quiet origin && git -C gan_jax checkout --quiet $(printf '%q' "$ref")"
else
  archive=$(mktemp --suffix=.tar.gz)
  trap 'rm -f "$archive"' EXIT
  git ls-files -z --cached --others --exclude-standard | tar -czf "$archive" --null -T -
  gcloud compute tpus tpu-vm scp "$archive" "$tpu:gan_jax.tar.gz" --zone="$zone" --worker=all \
    "${gcloud_flags[@]}"
  fetch="mkdir -p gan_jax && tar -xzf gan_jax.tar.gz -C gan_jax"
fi

setup=true
if [[ ${SETUP:-1} != 0 ]]; then
  setup="python3 -m venv ~/gan_jax_venv && ~/gan_jax_venv/bin/pip install --quiet -U pip"
  setup+=" && ~/gan_jax_venv/bin/pip install --quiet -e ./gan_jax 'jax[tpu]'"
fi
run="cd gan_jax && ~/gan_jax_venv/bin/python -m experiments.run --distributed=on"
run+=" $(printf '%q ' "--config=$config" "--workdir=$workdir" "$@")"
if [[ ${DETACH:-0} != 0 ]]; then
  run="nohup bash -c $(printf '%q' "$run") > ~/gan_jax_run.log 2>&1 &"
fi
"${ssh_all[@]}" --command="set -e; $fetch; $setup; $run"
