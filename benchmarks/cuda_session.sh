#!/usr/bin/env bash
# One short session on a machine with a CUDA GPU, in five parts, each logged to OUT:
#   1. the tests that need CUDA (the fast step on the GPU against the reference step on the CPU);
#   2. decoding on the GPU (benchmarks/engine_speed.py --device cuda);
#   3. training throughput on the GPU at batch 16, 64 and 128 (benchmarks/train_throughput.py);
#   4. the GPU recipe (benchmarks/configs/gpu_recipe.json) trained within TRAIN_SECONDS: its
#      stages' step counts are scaled from the throughput of part 3, so the run fits the budget;
#   5. the generation prior fitted on the GPU (about 25 s each) for the checkpoints that come back.
#
#   bash benchmarks/cuda_session.sh OUT [TRAIN_SECONDS] [CACHE]
#
# The whole script ends within TOTAL seconds (default 560): part 4 gets TRAIN_SECONDS or what is
# left, whichever is less. OUT ends with run.tgz (the logs and the run's small files) and the
# safetensors of the last stage's best/ and last/ and of the stage before's best/, each with its
# fitted prior (NAME-prior.safetensors): put the two side by side in a model folder with the
# run's config.json and tokenizer.json (in run.tgz) as model.safetensors and fitted_prior.safetensors.
# Needs the corpus cache (`emostudio prepare`), default cache/corpus. PYTHON picks the interpreter
# (default python3); BATCHES overrides part 3's batch sizes, DEVICE the device (cpu tries the
# script on a machine without a GPU, with tiny budgets), RECIPE the recipe, RUN its folder and
# PARTS the parts to run (default 12345; part 4 needs part 3's throughput in OUT).
set -u
t_start=$(date +%s)
out=${1:?usage: cuda_session.sh OUT [TRAIN_SECONDS] [CACHE]}
budget=${2:-360}
cache=${3:-cache/corpus}
py=${PYTHON:-python3}
device=${DEVICE:-cuda}
batches=${BATCHES:-16 64 128}
recipe=${RECIPE:-benchmarks/configs/gpu_recipe.json}
run=${RUN:-runs/gpu}
total=${TOTAL:-560}
parts=${PARTS:-12345}
export PYTHONUNBUFFERED=1 PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$out"
log() { echo "== $(date -u +%T) $*"; }

log machine
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  "$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'
  nproc
} | tee "$out/machine.txt"

has() { [[ $parts == *$1* ]]; }

has 1 && log "1. tests" &&
  timeout 150 "$py" -m pytest -q -p no:cacheprovider tests/test_cuda.py tests/test_fast_decode.py \
    tests/test_model_store.py 2>&1 | tee "$out/tests.txt" | tail -3

has 2 && log "2. decoding on $device" &&
  timeout 150 "$py" benchmarks/engine_speed.py --device "$device" --repeats 3 --size-repeats 1 \
    --no-kv >"$out/engine_speed_$device.md" 2>&1
has 2 && head -30 "$out/engine_speed_$device.md"

has 3 && log "3. training throughput on $device"
has 3 && for b in $batches; do
  timeout 60 "$py" benchmarks/train_throughput.py --cache "$cache" --sizes S3 --device "$device" \
    --batch-size "$b" --steps 20 --warmup 3 2>&1 | grep '^{'
done | tee "$out/train_throughput_$device.jsonl"

if has 4; then
  # 45 s: packing and each stage's start; 90 s more: part 5's three fits
  left=$((t_start + total - $(date +%s) - 45 - $(has 5 && echo 90 || echo 0)))
  budget=$((budget < left ? budget : left))
  log "4. the GPU recipe within $budget s"
  "$py" benchmarks/scale_recipe.py "$recipe" \
    --throughput "$out/train_throughput_$device.jsonl" --seconds "$budget" \
    --overhead 0.25 --out "$out/recipe.json" || exit 1
  minutes=$("$py" -c "print(($budget + 15) / 60)")  # a clean stop (saving) if the estimate is off
  timeout $((budget + 30)) "$py" -m emostudio train --cache "$cache" --config "$out/recipe.json" \
    --device "$device" --out "$run" --events --max-minutes "$minutes" 2>&1 \
    | grep -v '"event":"step"' | tail -40 | tee "$out/train.log"
fi

log pack
stages=$(ls -d "$run"/stage*/ 2>/dev/null | sort)
runs=$([ -d "$run" ] && echo "$run")
tar czf "$out/run.tgz.tmp" --exclude='*.safetensors' $runs -C "$out" \
  $(cd "$out" && ls ./*.txt ./*.md ./*.jsonl ./*.json ./*.log 2>/dev/null) &&
  (cd "$out" && rm -f ./*.txt ./*.md ./*.jsonl ./*.json ./*.log && mv run.tgz.tmp run.tgz)
last=$(echo "$stages" | tail -1)
before=$(echo "$stages" | tail -2 | head -1)
back() {  # back NAME FOLDER: a checkpoint's weights, and its prior fitted here (part 5)
  cp "$2/model.safetensors" "$out/$1.safetensors"
  has 5 && timeout 60 "$py" -m emostudio fit-prior --model "$2" --cache "$cache" \
    --device "$device" && cp "$2/fitted_prior.safetensors" "$out/$1-prior.safetensors"
}
[ -n "$last" ] && back final-best "$last/best" && back final-last "$last/last"
[ -n "$before" ] && [ "$before" != "$last" ] && back before-best "$before/best"
ls -la "$out"
log done
