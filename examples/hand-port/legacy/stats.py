"""Small statistics helpers used by main.py."""


def mean(values: list[float]) -> float:
    total = 0.0
    for v in values:
        total += v
    return total / len(values)


def stddev(values: list[float]) -> float:
    m = mean(values)
    total = 0.0
    for v in values:
        total += (v - m) * (v - m)
    return (total / len(values)) ** 0.5
