#!/usr/bin/env bash
# The main job: installs what it needs, builds, and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
./build/apps/autograd_demo
