#!/usr/bin/env bash
# Train the Rasa model only when its inputs changed.
#
#   scripts/train.sh [--epochs N]      progress on stderr, the model's path on stdout
#
# The model is cached as models/bot-<hash>.tar.gz, where the hash covers config.yml, the
# domain, the training data and the Rasa version (and --epochs, which the checks use to train a
# quicker model). Unchanged inputs: no training, same path. The custom components' code is not
# part of the model (Rasa imports it when it loads the model), so editing it needs no retraining.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-3}"

epochs=""
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) epochs="$2"; shift 2 ;;
    *) echo "usage: scripts/train.sh [--epochs N]" >&2; exit 2 ;;
  esac
done

config=config.yml
if [ -n "$epochs" ]; then
  mkdir -p results
  config="results/config.epochs-$epochs.yml"
  # Only DIET has an epochs setting in config.yml.
  sed -E "s/^( +epochs:) [0-9]+/\1 $epochs/" config.yml > "$config"
fi

hash=$(
  {
    cat "$config"
    find bot/domain bot/data -type f -name '*.yml' \
      | LC_ALL=C sort | while read -r f; do echo "== $f"; cat "$f"; done
    python -c 'import rasa; print(rasa.__version__)'
  } | sha256sum | cut -c1-16
)
name="bot-${epochs:+e$epochs-}$hash"
model="models/$name.tar.gz"

if [ -f "$model" ]; then
  echo "==> model up to date: $model" >&2
else
  echo "==> training data or config changed: training $model (about 2 minutes)" >&2
  start=$SECONDS
  # Rasa's own progress bars go to the terminal; the log keeps warnings for later reading.
  mkdir -p models results
  rasa train --config "$config" --domain bot/domain --data bot/data --out models \
    --fixed-model-name "$name" 2> >(tee results/train.log >&2) >&2
  echo "==> trained in $(( SECONDS - start )) s: $model" >&2
  # Keep the two newest bot models; older ones are just disk.
  ls -t models/bot-*.tar.gz 2>/dev/null | tail -n +3 | xargs -r rm -f
fi
echo "$model"
