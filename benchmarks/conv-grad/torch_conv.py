"""PyTorch reference for benchmarks/conv-grad: forward, input gradient and weight gradient of one Conv2d layer.

Usage: python3 torch_conv.py N C M H K S P THREADS REPS. Prints one JSON line: median process CPU seconds of each
(all threads), as the TypeScript side measures.
"""
import json
import sys
import time

import torch

n, c, m, h, k, s, p, threads, reps = (int(v) for v in sys.argv[1:10])
torch.set_num_threads(threads)
x = torch.randn(n, c, h, h)
w = torch.randn(m, c, k, k)
y = torch.nn.functional.conv2d(x, w, stride=s, padding=p)
dy = torch.randn_like(y)


def median(f):
    for _ in range(2):
        f()
    times = []
    for _ in range(reps):
        t0 = time.process_time()
        f()
        times.append(time.process_time() - t0)
    times.sort()
    return times[len(times) // 2]


out = {
    "fwd": median(lambda: torch.nn.functional.conv2d(x, w, stride=s, padding=p)),
    "dx": median(lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, stride=s, padding=p)),
    "dw": median(lambda: torch.nn.grad.conv2d_weight(x, w.shape, dy, stride=s, padding=p)),
}
print(json.dumps(out))
