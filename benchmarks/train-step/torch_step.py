#!/usr/bin/env python3
"""PyTorch reference for the train-step and gpu-step benchmarks: the same models, batches and optimizers as ours.

Usage: torch_step.py <case> <threads> <steps> [cpu|cuda]. Prints one JSON line: median wall and CPU (process, all
threads) ms per optimizer step (forward, loss, backward, optimizer step), and the process's peak RSS in MiB. On
CUDA, TF32 is off (float32 arithmetic like ours) and each timed step ends with a synchronisation.
"""
import json
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'packages', 'nn', 'fixtures'))
from generate_step_fixtures import ConvAutoencoder, ResNet18Cifar  # noqa: E402  (same layouts as @dc/nn)


def main():
    case, threads, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    device = torch.device(sys.argv[4] if len(sys.argv) > 4 else 'cpu')
    if device.type == 'cuda':
        if not torch.cuda.is_available():
            raise SystemExit('CUDA is not available to PyTorch here')
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(0)
    if case == 'conv-autoencoder':
        model = ConvAutoencoder(1, 10).to(device)
        x = torch.rand(128, 1, 28, 28).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = lambda: F.mse_loss(model(x), x)
    elif case == 'resnet18':
        model = ResNet18Cifar(10).to(device)
        x = torch.randn(32, 3, 32, 32).to(device)
        y = torch.randint(0, 10, (32,)).to(device)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        loss_fn = lambda: F.cross_entropy(model(x), y)
    else:
        raise SystemExit(f'unknown case {case}')
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        sync()
        return loss

    for _ in range(2):
        step()
    times = []
    cpu = []
    for _ in range(steps):
        t = time.perf_counter()
        c = time.process_time()
        loss = float(step())
        cpu.append((time.process_time() - c) * 1000)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    cpu.sort()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({'msPerStep': times[len(times) // 2], 'minMs': times[0], 'cpuMsPerStep': cpu[len(cpu) // 2],
                      'peakMiB': peak, 'loss': loss, 'threads': torch.get_num_threads(), 'torch': torch.__version__,
                      'device': torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}))


if __name__ == '__main__':
    main()
