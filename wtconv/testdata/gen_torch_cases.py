#!/usr/bin/python3
"""Generate extra WTConv reference cases with PyTorch (run: /usr/bin/python3 gen_torch_cases.py).

The official cases in shared/reference/wtconv-official cover odd kernels and
stride 1 only. This script re-states the official WTConv2d forward (wtconv/wtconv2d.py
and wtconv/util/wavelet.py of the authors' repository) with PyTorch's own
conv2d(padding='same'), conv_transpose2d and F.pad, and writes cases with even
kernels, strides 2 and 3, no bias and batch > 1. It is an implementation
independent of the Go loops in wtconv.Forward. CI does not need torch: the
outputs are committed. The Haar coefficients are PyWavelets' db1 (pywt is not
installed here).
"""
import json, os, struct
import numpy as np
import torch
import torch.nn.functional as F

R = 1 / np.sqrt(2)
DEC_LO, DEC_HI = [R, R], [-R, R]
REC_LO, REC_HI = [R, R], [R, -R]


def create_wavelet_filter(in_size):
    dec_hi = torch.tensor(DEC_HI[::-1], dtype=torch.float)
    dec_lo = torch.tensor(DEC_LO[::-1], dtype=torch.float)
    dec = torch.stack([dec_lo.unsqueeze(0) * dec_lo.unsqueeze(1),
                       dec_lo.unsqueeze(0) * dec_hi.unsqueeze(1),
                       dec_hi.unsqueeze(0) * dec_lo.unsqueeze(1),
                       dec_hi.unsqueeze(0) * dec_hi.unsqueeze(1)], dim=0)
    dec = dec[:, None].repeat(in_size, 1, 1, 1)
    rec_hi = torch.tensor(REC_HI[::-1], dtype=torch.float).flip(dims=[0])
    rec_lo = torch.tensor(REC_LO[::-1], dtype=torch.float).flip(dims=[0])
    rec = torch.stack([rec_lo.unsqueeze(0) * rec_lo.unsqueeze(1),
                       rec_lo.unsqueeze(0) * rec_hi.unsqueeze(1),
                       rec_hi.unsqueeze(0) * rec_lo.unsqueeze(1),
                       rec_hi.unsqueeze(0) * rec_hi.unsqueeze(1)], dim=0)
    rec = rec[:, None].repeat(in_size, 1, 1, 1)
    return dec, rec


def wavelet_transform(x, filters):
    b, c, h, w = x.shape
    pad = (filters.shape[2] // 2 - 1, filters.shape[3] // 2 - 1)
    x = F.conv2d(x, filters, stride=2, groups=c, padding=pad)
    return x.reshape(b, c, 4, h // 2, w // 2)


def inverse_wavelet_transform(x, filters):
    b, c, _, h_half, w_half = x.shape
    pad = (filters.shape[2] // 2 - 1, filters.shape[3] // 2 - 1)
    x = x.reshape(b, c * 4, h_half, w_half)
    return F.conv_transpose2d(x, filters, stride=2, groups=c, padding=pad)


def wtconv_forward(x, p, C, L, s, wt, iwt):
    ll, hs, shapes = [], [], []
    cur = x
    for i in range(L):
        shp = cur.shape
        shapes.append(shp)
        if shp[2] % 2 or shp[3] % 2:
            cur = F.pad(cur, (0, shp[3] % 2, 0, shp[2] % 2))
        t = wavelet_transform(cur, wt)
        cur = t[:, :, 0]
        sx = t.shape
        tag = t.reshape(sx[0], sx[1] * 4, sx[3], sx[4])
        tag = F.conv2d(tag, p[f"wavelet_convs.{i}.weight"], padding="same", groups=4 * C)
        tag = (tag * p[f"wavelet_scale.{i}.weight"]).reshape(sx)
        ll.append(tag[:, :, 0])
        hs.append(tag[:, :, 1:4])
    nxt = 0
    for i in range(L - 1, -1, -1):
        cl, ch, shp = ll.pop(), hs.pop(), shapes.pop()
        cl = cl + nxt
        nxt = inverse_wavelet_transform(torch.cat([cl.unsqueeze(2), ch], dim=2), iwt)
        nxt = nxt[:, :, :shp[2], :shp[3]]
    y = F.conv2d(x, p["base_conv.weight"], p.get("base_conv.bias"), padding="same", groups=C)
    y = y * p["base_scale.weight"] + nxt
    if s > 1:
        y = F.conv2d(y, torch.ones(C, 1, 1, 1), stride=s, groups=C)
    return y


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for k in sorted(tensors):
        a = np.ascontiguousarray(tensors[k].detach().numpy().astype("<f4"))
        header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


CASES = [
    dict(name="even_k4_c3_l2", C=3, k=4, L=2, s=1, bias=True, N=1, H=15, W=18),
    dict(name="even_k2_c2_l3_s2_nobias", C=2, k=2, L=3, s=2, bias=False, N=1, H=17, W=17),
    dict(name="even_k6_c2_l1_s3_n2", C=2, k=6, L=1, s=3, bias=True, N=2, H=11, W=14),
    # Deep levels on tiny maps: every level's input is 2 or 3 pixels at the bottom.
    dict(name="deep_k3_c2_l4_tiny", C=2, k=3, L=4, s=1, bias=True, N=1, H=9, W=10),
    dict(name="deep_k5_c3_l5_s2", C=3, k=5, L=5, s=2, bias=True, N=2, H=17, W=23),
]

if __name__ == "__main__":
    torch.manual_seed(20241129)
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch")
    for c in CASES:
        C, k, L = c["C"], c["k"], c["L"]
        p = {"base_conv.weight": torch.randn(C, 1, k, k) / k,
             "base_scale.weight": 0.5 + torch.rand(1, C, 1, 1)}
        if c["bias"]:
            p["base_conv.bias"] = torch.randn(C)
        for i in range(L):
            p[f"wavelet_convs.{i}.weight"] = torch.randn(4 * C, 1, k, k) / k
            p[f"wavelet_scale.{i}.weight"] = 0.5 + torch.rand(1, 4 * C, 1, 1)
        wt, iwt = create_wavelet_filter(C)
        x = torch.randn(c["N"], C, c["H"], c["W"])
        with torch.no_grad():
            y = wtconv_forward(x, p, C, L, c["s"], wt, iwt)
        d = os.path.join(here, c["name"])
        os.makedirs(d, exist_ok=True)
        state = {"layer." + n: v for n, v in p.items()}
        state["layer.wt_filter"], state["layer.iwt_filter"] = wt, iwt
        if c["s"] > 1:
            state["layer.stride_filter"] = torch.ones(C, 1, 1, 1)
        write_safetensors(os.path.join(d, "weights.safetensors"), state)
        np.save(os.path.join(d, "x.npy"), x.numpy().astype("<f4"))
        np.save(os.path.join(d, "y.npy"), y.numpy().astype("<f4"))
        with open(os.path.join(d, "case.json"), "w") as f:
            json.dump(dict(c, src_k=k, y_shape=list(y.shape), generator="gen_torch_cases.py"), f, indent=1)
        print(c["name"], tuple(y.shape))
