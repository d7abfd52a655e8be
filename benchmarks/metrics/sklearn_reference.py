"""Reference timings for benchmarks/metrics: scikit-learn 1.2 (and SciPy, NumPy) on the labels the benchmark
wrote. Usage: sklearn_reference.py DIR K BINS. Prints one JSON line: seconds and value per metric."""
import json
import sys
import time

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

folder, k, bins = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
truth = np.fromfile(f"{folder}/truth.bin", dtype=np.int32)
pred = np.fromfile(f"{folder}/pred.bin", dtype=np.int32)
confidence = np.fromfile(f"{folder}/confidence.bin", dtype=np.float32)
n = truth.shape[0]
out = {}


def timed(name, fn):
    t0 = time.perf_counter()
    value = fn()
    out[name] = {"seconds": time.perf_counter() - t0, "value": value}
    return value


m = timed("contingency", lambda: contingency_matrix(truth, pred))
out["contingency"]["value"] = None


def acc():
    c = contingency_matrix(truth, pred)
    r, col = linear_sum_assignment(c, maximize=True)
    return float(c[r, col].sum() / n)


timed("acc", acc)
timed("nmi", lambda: float(normalized_mutual_info_score(truth, pred)))
timed("ami", lambda: float(adjusted_mutual_info_score(truth, pred)))
timed("ari", lambda: float(adjusted_rand_score(truth, pred)))
timed("purity", lambda: float(contingency_matrix(truth, pred).max(axis=0).sum() / n))

# ECE (Eq. 20) in NumPy: scikit-learn has none. Probabilities are rebuilt the way the benchmark built them.
probabilities = np.repeat(((1 - confidence) / np.float32(k - 1)).astype(np.float32)[:, None], k, axis=1)
probabilities[np.arange(n), pred] = confidence


def ece():
    conf = probabilities[np.arange(n), pred].astype(np.float64)
    c = contingency_matrix(truth, pred)
    r, col = linear_sum_assignment(c, maximize=True)
    classes, clusters = np.unique(truth), np.unique(pred)
    to_class = np.full(clusters.max() + 1, -1)
    to_class[clusters[col]] = classes[r]
    correct = to_class[pred] == truth
    edges = np.arange(bins + 1) / bins
    index = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    acc_sum = np.bincount(index, weights=correct, minlength=bins)
    conf_sum = np.bincount(index, weights=conf, minlength=bins)
    used = count > 0
    return float(np.sum(np.abs(acc_sum[used] - conf_sum[used])) / n)


timed("ece", ece)
print(json.dumps(out))
