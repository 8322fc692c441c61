"""Summary statistics over a list of readings (the library module)."""
from typing import List


def total(values: List[float]) -> float:
    result: float = 0.0
    for v in values:
        result = result + v
    return result


def mean(values: List[float]) -> float:
    if len(values) == 0:
        return 0.0
    return total(values) / len(values)


def peak(values: List[float]) -> float:
    best: float = values[0]
    for v in values:
        if v > best:
            best = v
    return best
