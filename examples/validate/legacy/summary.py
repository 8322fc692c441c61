"""Summarise sensor readings: per sensor the count, mean, minimum and maximum.

Prints the summary and keeps a copy in out/summary.txt.
"""
import os
import sys


def load(path):
    readings = {}
    with open(path) as f:
        next(f)  # header
        for line in f:
            sensor, value = line.strip().split(",")
            readings.setdefault(sensor, []).append(float(value))
    return readings


def main(argv):
    if len(argv) != 2:
        print("usage: summary.py FILE.csv", file=sys.stderr)
        return 2
    readings = load(argv[1])
    lines = []
    for sensor in sorted(readings):
        values = readings[sensor]
        mean = sum(values) / len(values)
        lines.append(f"{sensor}: n={len(values)} mean={mean} min={min(values)} max={max(values)}")
    os.makedirs("out", exist_ok=True)
    with open("out/summary.txt", "w") as f:
        f.write("\n".join(lines) + "\n")
    for line in lines:
        print(line)
    print(f"total: {sum(len(v) for v in readings.values())} readings")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
