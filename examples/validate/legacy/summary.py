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


def write_means(path, out):
    """Only the mean per sensor, at full precision, as CSV: for a numeric comparison."""
    readings = load(path)
    with open(out, "w") as f:
        f.write("sensor,mean\n")
        for sensor in sorted(readings):
            values = readings[sensor]
            f.write(f"{sensor},{sum(values) / len(values)!r}\n")
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "--means":
        return write_means(argv[2], argv[3])
    if len(argv) != 2:
        print("usage: summary.py FILE.csv | summary.py --means FILE.csv OUT.csv", file=sys.stderr)
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
