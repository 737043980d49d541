#!/usr/bin/python3
"""Write odd_c4_k3_l2_fast.npz: the weights of the official case odd_c4_k3_l2
under the authors' fast-implementation names, as numpy.savez writes them
(kernels float32, scales float64 to exercise the float64 path).
Run from this folder: /usr/bin/python3 gen_fast_npz.py"""
import json, struct
import numpy as np

src = "../../../shared/reference/wtconv-official/odd_c4_k3_l2/weights.safetensors"
b = open(src, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
hdr = json.loads(b[8:8 + n])
t = {}
for k, v in hdr.items():
    if k == "__metadata__":
        continue
    s, e = v["data_offsets"]
    t[k[len("layer."):]] = np.frombuffer(b[8 + n + s:8 + n + e], dtype="<f4").reshape(v["shape"])
rename = {"base_conv.weight": "base_weight", "base_conv.bias": "base_bias", "base_scale.weight": "base_scale",
          "wt_filter": "wt_filter", "iwt_filter": "iwt_filter"}
out = {}
for k, a in t.items():
    if k in rename:
        name = rename[k]
    elif k.startswith("wavelet_convs."):
        name = "wt_weights." + k.split(".")[1]
    else:
        name = "wt_scales." + k.split(".")[1]
    if "scale" in name:
        a = a.astype("<f8")
    out["dw." + name] = a
np.savez("odd_c4_k3_l2_fast.npz", **out)
print(sorted(out))
