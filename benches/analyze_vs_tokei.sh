#!/usr/bin/env bash
# Cold and warm `batuta analyze` against `tokei` on the installed python3's standard library.
#
#   benches/analyze_vs_tokei.sh [RUNS]
#
# Copies the stdlib (without site-packages and __pycache__) into a temporary folder, then:
#   - tokei on it (RUNS times, median);
#   - `batuta analyze` cold, as a first run: no .batuta/ (the last run's is moved aside), every
#     file analysed (RUNS times, median);
#   - the same right after `rm -rf .batuta`: ext4 without a journal (this project's build
#     machines) skips the inodes deleted in the last minutes when it allocates new ones, a
#     cost that grows with the files the run before created; journaled ext4 does not;
#   - `batuta analyze` warm: nothing changed since the last run (RUNS times, median);
#   - `batuta analyze` after touching one file's content (one per-file action + aggregate).
# Goals (issue 4): cold ≤ 3× tokei, warm ≤ 100 ms. Needs tokei on PATH (cargo install tokei)
# and a release build of batuta (cargo build --release).
#
#   SOURCE=DIR benches/analyze_vs_tokei.sh   measures a copy of DIR instead, e.g. an ML
#   package's source (nearly every file imports numpy), unpacked from its PyPI sdist:
#     curl -sSL -o skl.tar.gz https://files.pythonhosted.org/packages/37/59/44985a2bdc95c74e34fef3d10cb5d93ce13b0e2a7baefffe1b53853b502d/scikit_learn-1.5.2.tar.gz
#     echo "b4237ed7b3fdd0a4882792e68ef2545d5baa50aca3bb45aa7df468138ad8f94d  skl.tar.gz" | sha256sum -c
#     tar xzf skl.tar.gz && SOURCE=$PWD/scikit_learn-1.5.2 benches/analyze_vs_tokei.sh
set -euo pipefail

RUNS=${1:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BATUTA=${BATUTA:-$ROOT/target/release/batuta}
command -v tokei >/dev/null || { echo "tokei not on PATH: cargo install tokei" >&2; exit 1; }
[ -x "$BATUTA" ] || { echo "no $BATUTA: cargo build --release" >&2; exit 1; }

SOURCE=${SOURCE:-$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')}
[ -d "$SOURCE" ] || { echo "no folder $SOURCE" >&2; exit 1; }
WORK=$(mktemp -d -p "${BENCH_DIR:-${TMPDIR:-/tmp}}")   # BENCH_DIR=/dev/shm: tmpfs
trap 'rm -rf "$WORK"' EXIT
TREE=$WORK/tree
mkdir -p "$TREE"
(cd "$SOURCE" && tar --exclude=site-packages --exclude=__pycache__ --exclude=.batuta \
    --exclude=.batuta-state.json -cf - .) | tar -xf - -C "$TREE"
echo "tree: $SOURCE ($(find "$TREE" -type f | wc -l) files, $(find "$TREE" -name '*.py' | wc -l) .py, $(du -sh "$TREE" | cut -f1))"
echo "machine: $(nproc) cores; runs: $RUNS (median shown)"

# One run of "$@", output discarded: "wall_ms cpu_ms" (cpu = user + sys, which a shared,
# loaded machine inflates less than wall time).
ms() {
    local t
    /usr/bin/time -o "$WORK/time" -f "%e %U %S" "$@" >/dev/null 2>&1 || true
    t=$(tail -1 "$WORK/time")
    awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%d %d\n", a[1] * 1000, (a[2] + a[3]) * 1000 }'
}

# Median of the first (wall) and second (cpu) columns: "wall cpu".
median() {
    local data col
    data=$(cat)
    for col in 1 2; do
        echo "$data" | awk -v c="$col" '{ print $c }' | sort -n | awk '{ a[NR] = $1 } END { printf "%s ", a[int((NR + 1) / 2)] }'
    done
    echo
}

# A cold run as a first run: the last run's .batuta/ is moved aside, not deleted (see above).
TRASH=$WORK/trash
mkdir -p "$TRASH"
cold() {
    [ -e "$TREE/.batuta" ] && mv "$TREE/.batuta" "$(mktemp -d -p "$TRASH")/"
    rm -f "$TREE/.batuta-state.json"
    ms "$BATUTA" analyze "$TREE"
}
after_rm() { rm -rf "$TREE/.batuta" "$TREE/.batuta-state.json"; ms "$BATUTA" analyze "$TREE"; }

read -r TOKEI TOKEI_CPU < <(for _ in $(seq "$RUNS"); do ms tokei "$TREE"; done | median)
read -r COLD COLD_CPU < <(for _ in $(seq "$RUNS"); do cold; done | median)
read -r RM RM_CPU < <(for _ in $(seq "$RUNS"); do after_rm; done | median)
"$BATUTA" analyze "$TREE" >/dev/null 2>&1 || true
read -r WARM WARM_CPU < <(for _ in $(seq "$RUNS"); do ms "$BATUTA" analyze "$TREE"; done | median)
EDIT=$(find "$TREE" -name '*.py' -print -quit)
read -r ONE ONE_CPU < <(for i in $(seq "$RUNS"); do echo "# edit $i" >> "$EDIT"; ms "$BATUTA" analyze "$TREE"; done | median)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "inf" }'; }
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "                          wall      cpu (user+sys)"
printf "tokei:                    %5d ms  %5d ms\n" "$TOKEI" "$TOKEI_CPU"
printf "batuta analyze, cold:     %5d ms  %5d ms   wall %s× tokei, cpu %s× (goal ≤ 3×)\n" "$COLD" "$COLD_CPU" "$(ratio "$COLD" "$TOKEI")" "$(ratio "$COLD_CPU" "$TOKEI_CPU")"
printf "  right after rm -rf:      %5d ms  %5d ms   wall %s× tokei, cpu %s×\n" "$RM" "$RM_CPU" "$(ratio "$RM" "$TOKEI")" "$(ratio "$RM_CPU" "$TOKEI_CPU")"
printf "batuta analyze, warm:     %5d ms  %5d ms   (goal ≤ 100 ms)\n" "$WARM" "$WARM_CPU"
printf "batuta analyze, one edit: %5d ms  %5d ms\n" "$ONE" "$ONE_CPU"
