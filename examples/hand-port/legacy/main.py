"""Summarise a sensor log: per-sensor count, mean and spread of the readings."""
import sys

from stats import mean, stddev


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
        print("usage: main.py FILE.csv", file=sys.stderr)
        return 2
    readings = load(argv[1])
    for sensor in sorted(readings):
        values = readings[sensor]
        print(f"{sensor},{len(values)},{mean(values):.3f},{stddev(values):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
