#!/usr/bin/env bash
# gpu-check.sh: the GPU check, for a machine with an NVIDIA GPU, CUDA 13,
# cuDNN 9 and TensorRT 10 (see README, "GPU execution providers"). It runs
#
#   1. wtonnx doctor on the GPU set of `make setup-gpu`;
#   2. for every fixture in testmodels/ and each form (ops, function,
#      customop; random wavelet weights, seed 1): wtonnx verify of ONNX
#      Runtime on cuda and tensorrt against its own cpu outputs (saved by
#      `run -o`, compared with --reference), of cpu against the pure-Go
#      engine, and the execution providers the nodes ran on;
#   3. wtonnx bench of the three forms under CUDA (ops --vs customop, then
#      function --vs customop);
#
# and prints one table (also written to $OUT/table.md). Exit status 0 when
# every verification passed, 1 otherwise.
#
# Environment: WTONNX (a built wtonnx binary; default: build it with Go to
# .cache/bin/wtonnx), WTONNX_ORT_LIB (default: .cache/onnxruntime-gpu/,
# fetched with `make setup-gpu` when missing), OUT (default
# .cache/gpu-check), ITERS (bench iterations, default 50), FIXTURES
# (space-separated fixture names; default all).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-.cache/gpu-check}"
ITERS="${ITERS:-50}"
mkdir -p "$OUT"

WTONNX="${WTONNX:-.cache/bin/wtonnx}"
if [[ ! -x "$WTONNX" ]]; then
	GOEXPERIMENT=simd go build -o "$WTONNX" ./cmd/wtonnx || { echo "gpu-check: cannot build wtonnx (set WTONNX)" >&2; exit 2; }
fi
LIB="${WTONNX_ORT_LIB:-.cache/onnxruntime-gpu/libonnxruntime.so.1}"
if [[ ! -f "$LIB" ]]; then
	./scripts/fetch-onnxruntime-gpu.sh || { echo "gpu-check: no GPU set at $LIB (make setup-gpu)" >&2; exit 2; }
fi
CUSTOMOP="${WTONNX_CUSTOMOP_LIB:-.cache/customop/libwtonnx_customop.so}"
[[ -f "$CUSTOMOP" ]] || make customop >/dev/null || { echo "gpu-check: no custom-op library (make customop)" >&2; exit 2; }
export WTONNX_CUSTOMOP_LIB="$CUSTOMOP"

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/gpu: /'
echo "== wtonnx doctor"
"$WTONNX" doctor --ort-lib "$LIB" | tee "$OUT/doctor.txt"
"$WTONNX" doctor --ort-lib "$LIB" --json >"$OUT/doctor.json"

# json_max KEY FILE: the largest number after "KEY": in FILE.
json_max() { grep -o "\"$1\": *[-0-9.eE+]*" "$2" | sed 's/.*: *//' | sort -g | tail -1; }
# providers FILE: "CPU 12, CUDA 140" from a run --json's node_providers.
providers() {
	grep -o '"provider": *"[A-Za-z]*"' "$1" | sed 's/.*"\([A-Za-z]*\)ExecutionProvider"/\1/; s/.*"\([A-Za-z]*\)"/\1/' |
		sort | uniq -c | awk '{printf "%s%s %s", (NR>1 ? ", " : ""), $2, $1}'
}

# reason LOG: the last line of a failed command, short: the loader's reason
# when a provider did not load.
reason() {
	tail -1 "$1" | sed 's/^wtonnx: //; s/.*execution provider is not available: //; s/the loader cannot load [^:]*: //; s/; .*//' | cut -c1-90
}
# num X: X with 3 significant digits, or "-".
num() { [[ -n "$1" ]] && awk -v x="$1" 'BEGIN{printf "%.3g", x}' || echo -; }

fixtures="${FIXTURES:-$(ls testmodels/*/model.onnx | xargs -n1 dirname | xargs -n1 basename)}"
table="$OUT/table.md"
{
	echo "| fixture | form | ep | verdict | engine | max abs err (cpu: vs Go engine; GPU: vs ONNX Runtime cpu) | nodes by provider |"
	echo "|---|---|---|---|---|---|---|"
} >"$table"
failed=0
for fx in $fixtures; do
	model="testmodels/$fx/model.onnx"
	input="testmodels/$fx/input.npy"
	for form in ops function customop; do
		conv="$OUT/${fx}_${form}.onnx"
		if ! "$WTONNX" convert "$model" -o "$conv" --format "$form" --init random --seed 1 --force >"$OUT/${fx}_${form}.convert.log" 2>&1 &&
			! "$WTONNX" convert "$model" -o "$conv" --format "$form" --init random --seed 1 --levels 1 --force >>"$OUT/${fx}_${form}.convert.log" 2>&1; then
			echo "| $fx | $form | - | convert failed: $(reason "$OUT/${fx}_${form}.convert.log") | | | |" >>"$table"
			failed=1
			continue
		fi
		ref="$OUT/${fx}_${form}_cpu_outputs"
		rm -rf "$ref"
		"$WTONNX" run "$conv" -i "$input" --ep cpu --ort-lib "$LIB" -o "$ref" >/dev/null 2>"$ref.log"
		for ep in cpu cuda tensorrt; do
			base="$OUT/${fx}_${form}_${ep}"
			if [[ $ep == cpu ]]; then
				# ONNX Runtime's CPU provider against the Go engine.
				"$WTONNX" verify "$conv" -i "$input" --ep cpu --ort-lib "$LIB" --engines ort,go --json >"$base.verify.json" 2>"$base.verify.log"
			else
				# The GPU provider against ONNX Runtime's CPU outputs.
				"$WTONNX" verify "$conv" -i "$input" --ep "$ep" --ort-lib "$LIB" --engines ort --reference "$ref" --json >"$base.verify.json" 2>"$base.verify.log"
			fi
			rc=$?
			verdict=$([[ $rc == 0 ]] && echo PASS || { [[ $rc == 1 ]] && echo FAIL || echo "error: $(reason "$base.verify.log")"; })
			[[ $rc == 0 ]] || failed=1
			engine=$(grep -o '"engine": *"ort/[a-z]*"' "$base.verify.json" | head -1 | sed 's/.*"\(ort\/[a-z]*\)"/\1/')
			err=$(json_max max_abs_error "$base.verify.json")
			"$WTONNX" run "$conv" -i "$input" --ep "$ep" --ort-lib "$LIB" --json >"$base.run.json" 2>"$base.run.log"
			echo "| $fx | $form | $ep | $verdict | ${engine:--} | $(num "$err") | $(providers "$base.run.json") |" >>"$table"
		done
	done
done

bench_table="$OUT/bench.md"
{
	echo "| fixture | model | vs | median ms model | median ms vs | ratio | engine |"
	echo "|---|---|---|---|---|---|---|"
} >"$bench_table"
for fx in $fixtures; do
	input="testmodels/$fx/input.npy"
	for pair in "ops customop" "function customop"; do
		set -- $pair
		a="$OUT/${fx}_$1.onnx" b="$OUT/${fx}_$2.onnx"
		[[ -f "$a" && -f "$b" ]] || continue
		j="$OUT/${fx}_$1_vs_$2.bench.json"
		if "$WTONNX" bench "$a" --vs "$b" -i "$input" --ep cuda --ort-lib "$LIB" --iters "$ITERS" --json >"$j" 2>"$j.log"; then
			meds=($(grep -o '"median": *[0-9.eE+-]*' "$j" | sed 's/.*: *//'))
			ratio=$(grep -o '"median_ratio": *[0-9.eE+-]*' "$j" | sed 's/.*: *//')
			engine=$(grep -o '"engine": *"[a-z/]*"' "$j" | head -1 | sed 's/.*"\([a-z/]*\)"/\1/')
			echo "| $fx | $1 | $2 | $(num "${meds[0]:-}") | $(num "${meds[1]:-}") | $(num "$ratio") | $engine |" >>"$bench_table"
		else
			echo "| $fx | $1 | $2 | error: $(reason "$j.log") | | | |" >>"$bench_table"
			failed=1
		fi
	done
done

echo
echo "== verify (cuda, tensorrt vs ONNX Runtime's cpu outputs; cpu vs the Go engine)"
cat "$table"
echo
echo "== bench under CUDA ($ITERS iterations, medians in ms)"
cat "$bench_table"
exit $failed
