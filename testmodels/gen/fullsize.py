#!/usr/bin/python3
"""Export full-size torchvision classifiers with torchvision's own random
initialisation (no download: random weights only) for wtonnx's tests.

    /usr/bin/python3 testmodels/gen/fullsize.py OUTDIR [NAME...]

NAME is mobilenet_v2, efficientnet_b0, mnasnet1_0 (the default: these three)
or convnext_tiny (the Go engine's speed benchmark, bench.BenchmarkEnginesFullSize).
Each becomes OUTDIR/NAME/model.onnx (input "input" 1x3x224x224, output
"logits", opset 13), input.npy (seeded uniform in [-1, 1)) and output.npy
(the torch module's output on it).

torchvision's initialisers scale depthwise convs by their fan-out, so the
activations shrink block after block and the logits of these networks come
out around 1e-8: exactly the case where a fixed absolute tolerance says
nothing, which is why wtonnx's verify tests use them. The models are 14-21
MB each, so they are generated where a test needs them rather than
committed.
"""

import os
import sys

import numpy as np
import torch
from torchvision import models

BUILDERS = {
    "mobilenet_v2": models.mobilenet_v2,
    "efficientnet_b0": models.efficientnet_b0,
    "mnasnet1_0": models.mnasnet1_0,
    "convnext_tiny": models.convnext_tiny,
}
DEFAULT = ["mobilenet_v2", "efficientnet_b0", "mnasnet1_0"]


def export(name, out):
    torch.manual_seed(0)
    m = BUILDERS[name](weights=None).eval()
    gen = torch.Generator().manual_seed(1)
    x = torch.rand((1, 3, 224, 224), generator=gen) * 2 - 1
    with torch.no_grad():
        y = m(x)
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    torch.onnx.export(m, x, os.path.join(d, "model.onnx"), input_names=["input"],
                      output_names=["logits"], opset_version=13, do_constant_folding=True)
    np.save(os.path.join(d, "input.npy"), x.numpy())
    np.save(os.path.join(d, "output.npy"), y.numpy())
    print(f"{name}: max|logits| {float(y.abs().max()):.3g}")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    names = sys.argv[2:] or DEFAULT
    for n in names:
        if n not in BUILDERS:
            sys.exit(f"unknown model {n!r} (want one of {', '.join(BUILDERS)})")
    torch.set_num_threads(1)
    for n in names:
        export(n, sys.argv[1])


if __name__ == "__main__":
    main()
