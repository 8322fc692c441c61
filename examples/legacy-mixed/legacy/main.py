"""Reads sensor readings (one number per line) and prints their summary."""
import sys
from typing import List

from stats import mean, peak


def parse(text: str) -> List[float]:
    values: List[float] = []
    for line in text.split("\n"):
        line = line.strip()
        if line != "":
            values.append(float(line))
    return values


def main() -> int:
    with open(sys.argv[1]) as f:
        values = parse(f.read())
    print(f"readings: {len(values)}")
    print(f"mean: {mean(values):.3f}")
    print(f"peak: {peak(values):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
