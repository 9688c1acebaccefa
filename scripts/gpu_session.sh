#!/usr/bin/env bash
# The one prepared GPU command of a session: continue (or start) a task's training within a wall-clock budget,
# evaluate, and leave checkpoint + card + log in $OUT (<= 8 files, each < 16 MB).
#
#   bash scripts/gpu_session.sh sudoku 8 [extra --set KEY=VALUE ...]
#
# Resumes from checkpoints/<task>/ when it holds a training state of the paper configuration; otherwise starts
# the paper configuration fresh. First prints a short benchmark (ms/step) so every session records its speed.
set -euo pipefail
task=${1:?task}; minutes=${2:?minutes}; shift 2
out=${OUT:-runs/$task}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
resume=()
if [ -f "checkpoints/$task/train_state.safetensors" ] && [ "${FRESH:-0}" != 1 ]; then
  resume=(--resume "checkpoints/$task")
fi
python -m trm_viz.train --task "$task" --minutes "$minutes" --out "$out" "${resume[@]}" "$@" 2>&1 | tail -n 400
ls -la "$out"
