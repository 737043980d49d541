#!/usr/bin/python3
"""Export WTConv networks from PyTorch, as a user who trained one would.

The authors' code is not bundled, so WTConv2d is written here from the spec
(../shared/spec/wtconv.md) the way the authors' module is written: the same
parameters and buffers (base_conv, base_scale, wavelet_convs, wavelet_scale,
wt_filter, iwt_filter), the same forward (odd-size F.pad from the run-time
shape, reshape to N x C x 4 x h x w, band 0 sliced out, cat + reshape before
conv_transpose2d, crop to the level's size, AvgPool2d(1, stride) for the
stride), so torch.onnx.export writes the same kind of graph.

Run from the repository root with Debian's Python (torch 1.13):

    /usr/bin/python3 testmodels/gen/exported.py            # every case into testmodels/exported/
    /usr/bin/python3 testmodels/gen/exported.py t04_network
    /usr/bin/python3 testmodels/gen/exported.py --bench OUT.onnx C H L K
        # one layer (input N x C x H x H, dynamic batch) for the fuse benchmark

Each case folder gets model.onnx, x.npy, y.npy (the torch module's output),
case.json (the WTConv layers it holds) and weights.safetensors (the
state_dict entries of every WTConv2d under its module path). Output is
deterministic for one torch version.
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# The authors' transforms, as wtconv's own reference-case generator states them.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "wtconv", "testdata"))
from gen_torch_cases import inverse_wavelet_transform, wavelet_transform, write_safetensors  # noqa: E402

# PyWavelets 1.4's coefficients (the spec's "Other wavelets" table; db3 from pywt).
DEC = {
    "db1": ([0.7071067811865476, 0.7071067811865476], [-0.7071067811865476, 0.7071067811865476]),
    "db2": ([-0.12940952255126037, 0.2241438680420134, 0.8365163037378079, 0.48296291314453416],
            [-0.48296291314453416, 0.8365163037378079, -0.2241438680420134, -0.12940952255126037]),
    "db3": ([0.03522629188570953, -0.08544127388202666, -0.13501102001025458, 0.45987750211849154,
             0.8068915093110925, 0.33267055295008263],
            [-0.33267055295008263, 0.8068915093110925, -0.45987750211849154, -0.13501102001025458,
             0.08544127388202666, 0.03522629188570953]),
}


def create_wavelet_filter(wave, channels):
    dec_lo, dec_hi = DEC[wave]
    rec_lo, rec_hi = dec_lo[::-1], dec_hi[::-1]
    lo = torch.tensor(dec_lo[::-1], dtype=torch.float)
    hi = torch.tensor(dec_hi[::-1], dtype=torch.float)
    dec = torch.stack([lo.unsqueeze(0) * lo.unsqueeze(1), lo.unsqueeze(0) * hi.unsqueeze(1),
                       hi.unsqueeze(0) * lo.unsqueeze(1), hi.unsqueeze(0) * hi.unsqueeze(1)], dim=0)
    rlo = torch.tensor(rec_lo[::-1], dtype=torch.float).flip(dims=[0])
    rhi = torch.tensor(rec_hi[::-1], dtype=torch.float).flip(dims=[0])
    rec = torch.stack([rlo.unsqueeze(0) * rlo.unsqueeze(1), rlo.unsqueeze(0) * rhi.unsqueeze(1),
                       rhi.unsqueeze(0) * rlo.unsqueeze(1), rhi.unsqueeze(0) * rhi.unsqueeze(1)], dim=0)
    return dec[:, None].repeat(channels, 1, 1, 1), rec[:, None].repeat(channels, 1, 1, 1)


class ScaleModule(nn.Module):
    def __init__(self, dims, init_scale=1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(*dims) * init_scale)

    def forward(self, x):
        return torch.mul(self.weight, x)


class WTConv2d(nn.Module):
    def __init__(self, channels, kernel_size=5, stride=1, bias=True, wt_levels=1, wt_type="db1"):
        super().__init__()
        self.wt_levels, self.stride = wt_levels, stride
        wt, iwt = create_wavelet_filter(wt_type, channels)
        self.wt_filter = nn.Parameter(wt, requires_grad=False)
        self.iwt_filter = nn.Parameter(iwt, requires_grad=False)
        # PyTorch 1.13 cannot export padding='same': the equal explicit one (odd k).
        self.base_conv = nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels, bias=bias)
        self.base_scale = ScaleModule([1, channels, 1, 1])
        self.wavelet_convs = nn.ModuleList([
            nn.Conv2d(channels * 4, channels * 4, kernel_size, padding=kernel_size // 2, groups=channels * 4, bias=False)
            for _ in range(wt_levels)])
        self.wavelet_scale = nn.ModuleList([ScaleModule([1, channels * 4, 1, 1], init_scale=0.1) for _ in range(wt_levels)])
        self.do_stride = nn.AvgPool2d(kernel_size=1, stride=stride) if stride > 1 else None
        self.meta = dict(C=channels, kernel=kernel_size, levels=wt_levels, stride=stride, bias=bias, wavelet=wt_type)

    def forward(self, x):
        lls, hs, shapes = [], [], []
        curr_ll = x
        for i in range(self.wt_levels):
            curr_shape = curr_ll.shape
            shapes.append(curr_shape)
            if (curr_shape[2] % 2 > 0) or (curr_shape[3] % 2 > 0):
                curr_ll = F.pad(curr_ll, (0, curr_shape[3] % 2, 0, curr_shape[2] % 2))
            curr = wavelet_transform(curr_ll, self.wt_filter)
            curr_ll = curr[:, :, 0, :, :]
            shape_x = curr.shape
            tag = curr.reshape(shape_x[0], shape_x[1] * 4, shape_x[3], shape_x[4])
            tag = self.wavelet_scale[i](self.wavelet_convs[i](tag))
            tag = tag.reshape(shape_x)
            lls.append(tag[:, :, 0, :, :])
            hs.append(tag[:, :, 1:4, :, :])
        next_ll = 0
        for i in range(self.wt_levels - 1, -1, -1):
            curr_ll, curr_h, curr_shape = lls.pop(), hs.pop(), shapes.pop()
            curr_ll = curr_ll + next_ll
            curr = torch.cat([curr_ll.unsqueeze(2), curr_h], dim=2)
            next_ll = inverse_wavelet_transform(curr, self.iwt_filter)
            next_ll = next_ll[:, :, :curr_shape[2], :curr_shape[3]]
        x = self.base_scale(self.base_conv(x)) + next_ll
        if self.do_stride is not None:
            x = self.do_stride(x)
        return x


def randomize(module, gen):
    """Every trainable tensor non-trivial (the scales too), fixed filters kept."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("wt_filter") or name.endswith("iwt_filter"):
                continue
            p.copy_(torch.randn(p.shape, generator=gen) * (0.3 if p.dim() > 1 else 0.5))


class Wrap(nn.Module):
    """A 1x1 conv before and after one layer, as in the shared cases."""

    def __init__(self, cin, wt, cout):
        super().__init__()
        self.pre = nn.Conv2d(cin, wt.meta["C"], 1)
        self.wt = wt
        self.post = nn.Conv2d(wt.meta["C"], cout, 1)

    def forward(self, x):
        return self.post(F.relu(self.wt(self.pre(x))))


class Parallel(nn.Module):
    """Two WTConv layers reading one tensor, summed."""

    def __init__(self):
        super().__init__()
        self.pre = nn.Conv2d(3, 6, 1)
        self.a = WTConv2d(6, 3, wt_levels=2)
        self.b = WTConv2d(6, 5, wt_levels=1, bias=False)
        self.post = nn.Conv2d(6, 2, 1)

    def forward(self, x):
        x = self.pre(x)
        return self.post(self.b(x) + self.a(x))


class Block(nn.Module):
    def __init__(self, c, levels, k=5):
        super().__init__()
        self.dw = WTConv2d(c, k, wt_levels=levels)
        self.pw1 = nn.Conv2d(c, 2 * c, 1)
        self.pw2 = nn.Conv2d(2 * c, c, 1)

    def forward(self, x):
        return x + self.pw2(F.gelu(self.pw1(self.dw(x))))


class Net(nn.Module):
    """A whole small network: stem, WTConv blocks, downsampling, a head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.stage1 = nn.Sequential(Block(8, 3), Block(8, 3, k=3))
        self.down = nn.Sequential(nn.BatchNorm2d(8), WTConv2d(8, 3, stride=2, wt_levels=2), nn.Conv2d(8, 16, 1))
        self.stage2 = nn.Sequential(Block(16, 2))
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        x = self.stage2(self.down(self.stage1(self.stem(x))))
        return self.head(x.mean(dim=(2, 3)))


CASES = {
    # name: (builder, opset, input shape, dynamic axes: none | batch | all)
    "t01_opset11_static_odd": (lambda: Wrap(3, WTConv2d(6, 3, wt_levels=2), 4), 11, (1, 3, 13, 11), "none"),
    "t02_opset13_dynamic_stride2": (lambda: Wrap(3, WTConv2d(8, 5, stride=2, wt_levels=2), 4), 13, (1, 3, 21, 18), "all"),
    "t03_opset15_nobias_batch": (lambda: Wrap(3, WTConv2d(4, 7, bias=False, wt_levels=3), 2), 15, (2, 3, 24, 20), "batch"),
    "t04_network": (Net, 14, (1, 3, 40, 40), "batch"),
    "t06_opset12_dynamic_even": (lambda: Wrap(3, WTConv2d(4, 3, wt_levels=2), 2), 12, (1, 3, 16, 16), "all"),
    "t07_parallel_opset17": (Parallel, 17, (1, 3, 18, 14), "none"),
    "t08_db3_opset17_batch": (lambda: Wrap(3, WTConv2d(4, 3, wt_levels=2, wt_type="db3"), 2), 17, (1, 3, 20, 19), "batch"),
    "t05_db2_opset16_odd": (lambda: Wrap(3, WTConv2d(4, 3, wt_levels=2, wt_type="db2"), 2), 16, (1, 3, 15, 17), "none"),
}


def export(model, path, shape, opset, dynamic):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(7))
    axes = None
    if dynamic == "batch":
        axes = {"input": {0: "batch"}, "output": {0: "batch"}}
    elif dynamic == "all":
        axes = {"input": {0: "batch", 2: "height", 3: "width"}, "output": {0: "batch", 2: "oh", 3: "ow"}}
    torch.onnx.export(model, x, path, input_names=["input"], output_names=["output"], opset_version=opset,
                      dynamic_axes=axes, do_constant_folding=True)
    return x


def make_case(root, name):
    build, opset, shape, dynamic = CASES[name]
    torch.manual_seed(0)
    model = build()
    randomize(model, torch.Generator().manual_seed(11))
    model.eval()
    out = os.path.join(root, name)
    os.makedirs(out, exist_ok=True)
    x = export(model, os.path.join(out, "model.onnx"), shape, opset, dynamic)
    with torch.no_grad():
        y = model(x)
    np.save(os.path.join(out, "x.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(out, "y.npy"), y.numpy().astype(np.float32))
    layers, tensors = [], {}
    sd = model.state_dict()
    for path, m in model.named_modules():
        if isinstance(m, WTConv2d):
            layers.append(dict(module=path, **m.meta))
            for k in m.state_dict():
                tensors[path + "." + k] = sd[path + "." + k]
    write_safetensors(os.path.join(out, "weights.safetensors"), tensors)
    case = dict(name=name, opset=opset, dynamic=dynamic, input_shape=list(shape),
                wavelet=layers[0]["wavelet"], wtconv_layers=layers,
                exporter="torch %s torch.onnx.export (TorchScript)" % torch.__version__,
                generator="testmodels/gen/exported.py")
    with open(os.path.join(out, "case.json"), "w") as f:
        json.dump(case, f, indent=1)
        f.write("\n")
    print("wrote", out)


def bench(path, c, h, levels, k):
    torch.manual_seed(0)
    layer = WTConv2d(c, k, wt_levels=levels)
    randomize(layer, torch.Generator().manual_seed(11))
    layer.eval()
    export(layer, path, (1, c, h, h), 17, "batch")


def main(argv):
    if argv and argv[0] == "--bench":
        path, c, h, levels, k = argv[1], *map(int, argv[2:6])
        bench(path, c, h, levels, k)
        return
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "exported")
    for name in argv or sorted(CASES):
        make_case(root, name)


if __name__ == "__main__":
    main(sys.argv[1:])
