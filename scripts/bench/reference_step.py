"""The reference transformer training step of issue 3 in PyTorch, served over stdin/stdout so that
scripts/bench.ts can interleave it with the TensorFlow.js stacks in one run.

Model: batch 16, seq 64, d_model 128, 4 heads, FF 512, 2 pre-LN nn.TransformerEncoderLayer (ReLU,
dropout 0), MSE loss, Adam lr 1e-3: the same arithmetic as scripts/bench/reference-model.ts.

Protocol (one JSON object per line on stdout):
  start                -> {"ready": true, "torch": version, "threads": n, "blas": ...}
  "step N"             -> {"ms": [N per-step wall times]}      (forward, backward, Adam, loss.item())
  "matmul N"           -> {"ms": [N times of one 512x512 @ 512x512 float32 matmul]}
  "quit"               -> exits
Threads: OPENBLAS_NUM_THREADS (set by the caller) governs the BLAS threads of this Debian build,
whose BLAS_INFO is "generic"; torch.set_num_threads gets the same number for its own kernels.
"""
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

threads = int(os.environ.get("OPENBLAS_NUM_THREADS", "1"))
torch.set_num_threads(threads)
torch.manual_seed(1234)

B, T, D, H, FF, LAYERS = 16, 64, 128, 4, 512, 2
layer = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=True, norm_first=True)
model = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
x = torch.randn(B, T, D)
y = torch.randn(B, T, D)
a = torch.randn(512, 512)
b = torch.randn(512, 512)


def step() -> float:
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss = F.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    loss.item()
    return (time.perf_counter() - t0) * 1000


def matmul() -> float:
    t0 = time.perf_counter()
    torch.mm(a, b)
    return (time.perf_counter() - t0) * 1000


def reply(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


blas = "unknown"
try:
    import re

    found = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    blas = found.group(1) if found else blas
except Exception:  # noqa: BLE001 - informational only
    pass
reply({"ready": True, "torch": torch.__version__, "threads": threads, "blas": blas})
for line in sys.stdin:
    cmd = line.split()
    if not cmd or cmd[0] == "quit":
        break
    n = int(cmd[1]) if len(cmd) > 1 else 1
    if cmd[0] == "step":
        reply({"ms": [step() for _ in range(n)]})
    elif cmd[0] == "matmul":
        reply({"ms": [matmul() for _ in range(n)]})
    else:
        reply({"error": "unknown command " + cmd[0]})
