#!/usr/bin/env bash
# The assistant's checks (scripts/test.sh runs this stage):
#   1. rasa data validate, failing on any warning (bot/checks.py explains the one exception);
#   2. NLU cross-validation, intent macro F1 >= 0.93, report kept in artefacts/bot/;
#   3. the test stories (bot/tests) with rasa test core --fail-on-prediction-errors;
#   4. the end-to-end tests through the signed channel with the action server running.
# Models and the cross-validation report are cached by a hash of their inputs, so a second
# run with unchanged data trains nothing, and the model checked is the one `make run` serves.
# BOT_CHECK_EPOCHS=N trains quicker models instead (DIET epochs); BOT_CV_FOLDS (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export TF_CPP_MIN_LOG_LEVEL=3
export APP_ENV="${APP_ENV:-test}"
epochs="${BOT_CHECK_EPOCHS:-}"
folds="${BOT_CV_FOLDS:-5}"
min_f1=0.93
mkdir -p results artefacts/bot

step() { echo "  -> $1"; shift; local t=$SECONDS; "$@"; echo "     ($(( SECONDS - t )) s)"; }

step "rasa data validate (no warnings allowed)" python -m bot.checks validate 2>/dev/null

cv_config="results/config.cv.yml"
if [ -n "$epochs" ]; then
  sed -E "s/^( +epochs:) [0-9]+/\1 $epochs/" config.yml > "$cv_config"
else
  cp config.yml "$cv_config"
fi
cv_hash=$(cat "$cv_config" bot/data/nlu.yml bot/components/*.py bot/checks.py <(echo "$folds") \
  | sha256sum | cut -c1-16)
cv_dir="results/nlu_cv-$cv_hash"
cross_validate() {
  if [ -f "$cv_dir/intent_report.json" ]; then
    echo "     NLU data unchanged: reusing $cv_dir"
  else
    python -m bot.checks cross-validate -- --folds "$folds" --config "$cv_config" \
      --nlu bot/data/nlu.yml --out "$cv_dir.tmp" > results/nlu_cv.log 2>&1 \
      || { tail -30 results/nlu_cv.log; return 1; }
    rm -rf "$cv_dir" && mv "$cv_dir.tmp" "$cv_dir"
  fi
  rm -rf artefacts/bot/nlu_cv && cp -r "$cv_dir" artefacts/bot/nlu_cv
  python -m bot.checks nlu-f1 artefacts/bot/nlu_cv/intent_report.json "$min_f1"
}
step "NLU cross-validation ($folds folds, intent macro F1 >= $min_f1)" cross_validate

model=""
train() { model=$(scripts/train.sh ${epochs:+--epochs "$epochs"} 2>results/train_checks.log) \
  || { tail -30 results/train_checks.log; return 1; }; echo "     $model"; }
step "model for the checks" train

test_stories() {
  rm -rf results/core
  rasa test core -m "$model" --stories bot/tests --fail-on-prediction-errors \
    --out results/core > results/core.log 2>&1 \
    || { grep -v "^\s*$" results/core.log | tail -40; cat results/core/failed_test_stories.yml \
         2>/dev/null | head -60; return 1; }
  rm -rf artefacts/bot/core && cp -r results/core artefacts/bot/core
  grep -E "Correct:|Accuracy:" results/core.log | head -4 | sed 's/^.*INFO *[a-z._]* *- /     /'
}
step "test stories (rasa test core --fail-on-prediction-errors)" test_stories

step "end to end through the signed channel (action server up, then down; portal and Slack)" \
  env BOT_MODEL="$model" python -m pytest -q -p no:cacheprovider -m "slow and not reliability" \
  tests/bot tests/portal tests/slack
