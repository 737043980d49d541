#!/usr/bin/env bash
# measure-forms.sh: peak memory and latency of one WTConv layer in each form
# (fused custom op, model-local function, standard ops) against a plain 5x5
# and a dense 31x31 depthwise conv, on ONNX Runtime's CPU provider, each model
# in a process of its own so that peak RSS belongs to that model alone.
#
# Usage: scripts/measure-forms.sh [THREADS] [ITERS]   (after make setup)
# Needs /usr/bin/python3 with python3-onnx to write the one-node source models.
set -euo pipefail
threads=${1:-1}
iters=${2:-30}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out=".cache/measure-forms"
mkdir -p "$out"
GOEXPERIMENT=simd go build -o "$out/wtonnx" ./cmd/wtonnx
W="$out/wtonnx"

# name C HW levels
shapes="C96_56 96 56 5
C192_28 192 28 4
C384_14 384 14 3
C768_7 768 7 2"

/usr/bin/python3 - "$out" <<'PY'
import sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
out = sys.argv[1]
rng = np.random.default_rng(1)
for c, hw in [(96, 56), (192, 28), (384, 14), (768, 7)]:
    for b in (1, 8):
        for k in (5, 31):
            w = (rng.standard_normal((c, 1, k, k)) / k).astype(np.float32)
            p0, p1 = (k - 1) // 2, k - 1 - (k - 1) // 2
            node = helper.make_node("Conv", ["x", "dw.weight"], ["y"], name="dw", group=c,
                                    kernel_shape=[k, k], pads=[p0, p0, p1, p1])
            g = helper.make_graph([node], "dw",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [b, c, hw, hw])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [b, c, hw, hw])],
                                  [numpy_helper.from_array(w, "dw.weight")])
            m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
            m.ir_version = 8
            onnx.save(m, f"{out}/C{c}_{hw}_b{b}_dw{k}.onnx")
PY

printf '%-10s %-3s %-10s %10s %10s\n' shape b form median_ms peak_MiB
echo "$shapes" | while read -r name c hw levels; do
	for b in 1 8; do
		src="$out/${name}_b${b}_dw5.onnx"
		for f in customop function ops; do
			"$W" convert "$src" -o "$out/${name}_b${b}_$f.onnx" --init random --seed 1 --levels "$levels" --format "$f" --force >/dev/null
		done
		for f in customop function ops dw5 dw31; do
			j=$("$W" bench "$out/${name}_b${b}_$f.onnx" --threads "$threads" --warmup 3 --iters "$iters" --json)
			/usr/bin/python3 -c '
import json, sys
r = json.loads(sys.argv[1]); m = r["models"][0]; mem = r["memory"]
peak = (mem["vm_hwm_after_bytes"] - mem["vm_hwm_before_bytes"]) / 2**20
print("%-10s %-3s %-10s %10.3f %10.1f" % (sys.argv[2], sys.argv[3], sys.argv[4], m["latency_ms"]["median"], peak))
' "$j" "$name" "$b" "$f"
		done
	done
done
