"""Tracks an object moving at constant velocity with filterpy's Kalman filter.

usage: track.py DIM STEPS  (DIM: position and velocity per axis, so the state has 2*DIM)
"""
import sys

import numpy as np
from filterpy.kalman import KalmanFilter


def make_filter(dim):
    n = 2 * dim
    kf = KalmanFilter(dim_x=n, dim_z=dim)
    kf.F = np.eye(n)
    for i in range(dim):
        kf.F[2 * i, 2 * i + 1] = 1.0
    kf.H = np.zeros((dim, n))
    for i in range(dim):
        kf.H[i, 2 * i] = 1.0
    kf.P *= 10.0
    kf.R = np.eye(dim) * 0.5
    kf.Q = np.eye(n) * 0.01
    return kf


def main():
    dim, steps = int(sys.argv[1]), int(sys.argv[2])
    kf = make_filter(dim)
    rng = np.random.default_rng(7)
    truth = np.zeros(dim)
    for t in range(steps):
        truth = truth + 1.0
        kf.predict()
        kf.update(truth + rng.normal(0.0, 0.5, dim))
    velocity = kf.x.reshape(-1)[1::2]
    print("velocity", np.round(velocity, 2))
    print("trace P", round(float(np.sqrt(np.sum(kf.P.diagonal()))), 3))


if __name__ == "__main__":
    main()
