#!/usr/bin/env bash
# The main job: train the lab's network on the embedded circles set; plots and metrics go to runs/demo.
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
cd "$ROOT"
mlplab train --out runs/demo "$@"
