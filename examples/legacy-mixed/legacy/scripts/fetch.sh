#!/bin/bash
# Copies the day's readings into build/ (the helper script).
set -eu
src=${1:-data/readings.txt}
mkdir -p build
cp "$src" build/readings.txt
printf 'copied %s\n' "$src"
