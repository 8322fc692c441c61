#!/usr/bin/env bash
# Cold and warm `batuta analyze` against `tokei` on the installed python3's standard library.
#
#   benches/analyze_vs_tokei.sh [RUNS]
#
# Copies the stdlib (without site-packages and __pycache__) into a temporary folder, then:
#   - tokei on it (RUNS times, median);
#   - `batuta analyze` cold: no .batuta/ cache, every file analysed (RUNS times, median);
#   - `batuta analyze` warm: nothing changed since the last run (RUNS times, median);
#   - `batuta analyze` after touching one file's content (one per-file action + aggregate).
# Goals (issue 4): cold ≤ 3× tokei, warm ≤ 100 ms. Needs tokei on PATH (cargo install tokei)
# and a release build of batuta (cargo build --release).
set -euo pipefail

RUNS=${1:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BATUTA=${BATUTA:-$ROOT/target/release/batuta}
command -v tokei >/dev/null || { echo "tokei not on PATH: cargo install tokei" >&2; exit 1; }
[ -x "$BATUTA" ] || { echo "no $BATUTA: cargo build --release" >&2; exit 1; }

STDLIB=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TREE=$WORK/stdlib
mkdir -p "$TREE"
(cd "$STDLIB" && tar --exclude=site-packages --exclude=__pycache__ -cf - .) | tar -xf - -C "$TREE"
echo "tree: $STDLIB ($(find "$TREE" -type f | wc -l) files, $(find "$TREE" -name '*.py' | wc -l) .py, $(du -sh "$TREE" | cut -f1))"
echo "machine: $(nproc) cores; runs: $RUNS (median shown)"

# Milliseconds of one run of "$@", output discarded.
ms() {
    local s e
    s=$(date +%s%N)
    "$@" >/dev/null 2>&1
    e=$(date +%s%N)
    echo $(( (e - s) / 1000000 ))
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

cold() { rm -rf "$TREE/.batuta" "$TREE/.batuta-state.json"; ms "$BATUTA" analyze "$TREE"; }

TOKEI=$(for _ in $(seq "$RUNS"); do ms tokei "$TREE"; done | median)
COLD=$(for _ in $(seq "$RUNS"); do cold; done | median)
"$BATUTA" analyze "$TREE" >/dev/null 2>&1 || true
WARM=$(for _ in $(seq "$RUNS"); do ms "$BATUTA" analyze "$TREE"; done | median)
ONE=$(for i in $(seq "$RUNS"); do echo "# edit $i" >> "$TREE/json/__init__.py"; ms "$BATUTA" analyze "$TREE"; done | median)

echo "tokei:                    ${TOKEI} ms"
echo "batuta analyze, cold:     ${COLD} ms  ($(awk -v c="$COLD" -v t="$TOKEI" 'BEGIN { printf "%.1f", c / t }')× tokei; goal ≤ 3×)"
echo "batuta analyze, warm:     ${WARM} ms  (goal ≤ 100 ms)"
echo "batuta analyze, one edit: ${ONE} ms"
