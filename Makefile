.PHONY: setup setup-gpu deps gomod ort test test-go test-race test-fuzz test-checker demo

# setup prepares everything the tests need that is not in the repository:
# Debian packages, the ONNX Runtime library and the custom-op library.
setup: deps gomod ort customop

deps:
	./scripts/install-deps.sh

# gomod fetches the Go modules (the custom-op build takes ONNX Runtime's C
# header from the onnxruntime_go module).
gomod:
	go mod download

# ort caches the ONNX Runtime 1.30.0 CPU library at .cache/onnxruntime/
# (see scripts/fetch-onnxruntime.sh; set WTONNX_ORT_TARBALL to reuse a
# downloaded onnxruntime-node-1.30.0.tgz).
ort:
	./scripts/fetch-onnxruntime.sh

# setup-gpu caches a matched GPU set of ONNX Runtime 1.29.0 at
# .cache/onnxruntime-gpu/ (core library plus the CUDA and TensorRT provider
# libraries, from npm, SHA-256 checked; 290 MB of tarballs, 22 s with an empty
# npm cache here); --ep cuda, tensorrt and auto use it when no library is named. The
# host needs CUDA 13, cuDNN 9, TensorRT 10 and the NVIDIA driver (see
# README); `wtonnx doctor` says what is missing. `make setup` stays CPU-only.
setup-gpu: setup
	./scripts/fetch-onnxruntime-gpu.sh

# ---------------------------------------------------------------------------
# customop: the fused ai.wtonnx::WTConv operator for ONNX Runtime, a C shared
# library at .cache/customop/libwtonnx_customop.so (see customop/).
.PHONY: customop customop-asan customop-asan-test customop-asan-ort-test customop-ort-cases \
	ort-releases customop-ort-releases-test

CUSTOMOP_CC ?= gcc
CUSTOMOP_OUT := .cache/customop
CUSTOMOP_LIB := $(CUSTOMOP_OUT)/libwtonnx_customop.so
CUSTOMOP_SRC := customop/csrc/wtconv_op.c customop/csrc/wtconv_kernel.c
CUSTOMOP_HDR := customop/csrc/wtconv_kernel.h customop/csrc/wtconv_wavelets.h customop/csrc/wtconv_block_body.h
# Portable flags: x86-64-v2 runs on every x86-64 CPU of the last decade;
# never -march=native (CI and users run other machines).
CUSTOMOP_ARCH ?= -march=x86-64-v2
CUSTOMOP_CFLAGS ?= -O3 $(CUSTOMOP_ARCH) -std=gnu11 -fPIC -fvisibility=hidden \
	-Wall -Wextra -Werror
CUSTOMOP_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# onnxruntime_c_api.h ships in the onnxruntime_go module.
CUSTOMOP_ORT_INC = $(shell go list -m -f '{{.Dir}}' github.com/yalue/onnxruntime_go 2>/dev/null)

customop: gomod $(CUSTOMOP_LIB)

$(CUSTOMOP_LIB): $(CUSTOMOP_SRC) $(CUSTOMOP_HDR) go.mod
	@inc='$(CUSTOMOP_ORT_INC)'; test -f "$$inc/onnxruntime_c_api.h" || { \
		echo "customop: onnxruntime_c_api.h not found; run 'go mod download github.com/yalue/onnxruntime_go'" >&2; exit 1; }
	@mkdir -p $(CUSTOMOP_OUT)
	$(CUSTOMOP_CC) $(CUSTOMOP_CFLAGS) -I'$(CUSTOMOP_ORT_INC)' -shared -o $@.tmp $(CUSTOMOP_SRC) -lpthread
	@mv $@.tmp $@

# customop-asan builds an AddressSanitizer + UBSan variant of the library and
# the C test driver that calls the kernel directly (no ONNX Runtime).
customop-asan: $(CUSTOMOP_OUT)/asan/libwtonnx_customop.so $(CUSTOMOP_OUT)/asan/wtconv_kernel_test \
	$(CUSTOMOP_OUT)/asan/wtconv_kernel_test_baseline

$(CUSTOMOP_OUT)/asan/libwtonnx_customop.so: $(CUSTOMOP_SRC) $(CUSTOMOP_HDR) go.mod
	@inc='$(CUSTOMOP_ORT_INC)'; test -f "$$inc/onnxruntime_c_api.h" || { \
		echo "customop: onnxruntime_c_api.h not found; run 'go mod download github.com/yalue/onnxruntime_go'" >&2; exit 1; }
	@mkdir -p $(CUSTOMOP_OUT)/asan
	$(CUSTOMOP_CC) -O1 -g $(CUSTOMOP_ARCH) -std=gnu11 -fPIC -fvisibility=hidden -Wall -Wextra -Werror \
		$(CUSTOMOP_SAN) -I'$(CUSTOMOP_ORT_INC)' -shared -o $@ $(CUSTOMOP_SRC) -lpthread

$(CUSTOMOP_OUT)/asan/wtconv_kernel_test: customop/test/wtconv_kernel_test.c customop/csrc/wtconv_kernel.c $(CUSTOMOP_HDR)
	@mkdir -p $(CUSTOMOP_OUT)/asan
	$(CUSTOMOP_CC) -O1 -g $(CUSTOMOP_ARCH) -std=gnu11 -Wall -Wextra -Werror $(CUSTOMOP_SAN) -Icustomop/csrc \
		-o $@ customop/test/wtconv_kernel_test.c customop/csrc/wtconv_kernel.c -lm

# The same driver with the baseline code path only (no AVX2/AVX-512 clones),
# which CPUs without AVX2 run.
$(CUSTOMOP_OUT)/asan/wtconv_kernel_test_baseline: customop/test/wtconv_kernel_test.c customop/csrc/wtconv_kernel.c $(CUSTOMOP_HDR)
	@mkdir -p $(CUSTOMOP_OUT)/asan
	$(CUSTOMOP_CC) -O1 -g $(CUSTOMOP_ARCH) -DWTCONV_NO_CLONES -std=gnu11 -Wall -Wextra -Werror $(CUSTOMOP_SAN) \
		-Icustomop/csrc -o $@ customop/test/wtconv_kernel_test.c customop/csrc/wtconv_kernel.c -lm

# customop-kernel-bench times the kernel alone, per variant (avx512, avx2,
# baseline) and the planar path, on the WTConvNeXt-T layer shapes.
.PHONY: customop-kernel-bench
customop-kernel-bench: $(CUSTOMOP_OUT)/wtconv_kernel_bench
	$(CUSTOMOP_OUT)/wtconv_kernel_bench

$(CUSTOMOP_OUT)/wtconv_kernel_bench: customop/test/wtconv_kernel_bench.c customop/csrc/wtconv_kernel.c $(CUSTOMOP_HDR)
	@mkdir -p $(CUSTOMOP_OUT)
	$(CUSTOMOP_CC) -O3 $(CUSTOMOP_ARCH) -std=gnu11 -Wall -Wextra -Werror -Icustomop/csrc \
		-o $@ customop/test/wtconv_kernel_bench.c customop/csrc/wtconv_kernel.c -lm

# customop-asan-test runs the driver on the reference cases in
# ../shared/reference/wtconv-official and on edge cases.
customop-asan-test: customop-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(CUSTOMOP_OUT)/asan/wtconv_kernel_test ../shared/reference/wtconv-official
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(CUSTOMOP_OUT)/asan/wtconv_kernel_test_baseline ../shared/reference/wtconv-official

# customop-asan-ort-test runs the sanitized library, ONNX Runtime glue and all,
# in real ONNX Runtime sessions: customop/test/gen writes the cases (official
# models converted with --format customop, wtonnx's PyTorch cases, 2 intra-op
# threads, malformed models and inputs with their expected errors) and
# customop/test/ort_session_test.c (ASan + UBSan, dlopens ONNX Runtime) runs them.
CUSTOMOP_ORT_CASES := $(CUSTOMOP_OUT)/asan/ort-cases

$(CUSTOMOP_OUT)/asan/ort_session_test: customop/test/ort_session_test.c go.mod
	@inc='$(CUSTOMOP_ORT_INC)'; test -f "$$inc/onnxruntime_c_api.h" || { \
		echo "customop: onnxruntime_c_api.h not found; run 'go mod download github.com/yalue/onnxruntime_go'" >&2; exit 1; }
	@mkdir -p $(CUSTOMOP_OUT)/asan
	$(CUSTOMOP_CC) -O1 -g $(CUSTOMOP_ARCH) -std=gnu11 -Wall -Wextra -Werror $(CUSTOMOP_SAN) -I'$(CUSTOMOP_ORT_INC)' \
		-o $@ customop/test/ort_session_test.c -ldl -lm

customop-ort-cases:
	rm -rf $(CUSTOMOP_ORT_CASES)
	go run ./customop/test/gen -out $(CUSTOMOP_ORT_CASES)

customop-asan-ort-test: customop-asan ort $(CUSTOMOP_OUT)/asan/ort_session_test customop-ort-cases
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(CUSTOMOP_OUT)/asan/ort_session_test $(CUSTOMOP_OUT)/asan/libwtonnx_customop.so $(CUSTOMOP_ORT_CASES) \
		.cache/onnxruntime/libonnxruntime.so.1

# ---------------------------------------------------------------------------
# demo: the main job on a bundled model (README's first command). Converts
# the ConvNeXt fixture's 7x7 depthwise convs to WTConv and checks the result.
WTONNX := .cache/bin/wtonnx
DEMO := .cache/demo
DEMO_MODEL := testmodels/convnext/model.onnx

# The Go engine's vector kernels need Go's simd experiment (Go 1.26); without
# it the portable fallbacks are built. Both are tested.
GOSIMD := GOEXPERIMENT=simd

demo: setup
	$(GOSIMD) go build -o $(WTONNX) ./cmd/wtonnx
	@mkdir -p $(DEMO)
	$(WTONNX) inspect $(DEMO_MODEL)
	@echo; echo "== preserve: the converted model computes exactly what the original did"
	$(WTONNX) convert $(DEMO_MODEL) -o $(DEMO)/convnext_wtconv.onnx --force
	$(WTONNX) verify $(DEMO_MODEL) $(DEMO)/convnext_wtconv.onnx
	@echo; echo "== random wavelet weights: standard-op form vs fused custom operator, on ONNX Runtime and the Go engine"
	$(WTONNX) convert $(DEMO_MODEL) -o $(DEMO)/convnext_wtconv_ops.onnx --init random --seed 1 --force
	$(WTONNX) convert $(DEMO_MODEL) -o $(DEMO)/convnext_wtconv_fused.onnx --init random --seed 1 --format customop --force
	$(WTONNX) verify $(DEMO)/convnext_wtconv_ops.onnx $(DEMO)/convnext_wtconv_fused.onnx
	$(WTONNX) bench $(DEMO)/convnext_wtconv_ops.onnx --vs $(DEMO)/convnext_wtconv_fused.onnx --iters 30
	@echo; echo "== the report: costs, impulse responses, verification and latency in one HTML file"
	$(WTONNX) report $(DEMO_MODEL) $(DEMO)/convnext_wtconv_ops.onnx -o $(DEMO)/report.html --force

# ---------------------------------------------------------------------------
# test: everything CI runs (README's test command).
GO_TEST_FLAGS ?= -count=1 -timeout 30m
RACE_PKGS := ./runtime/... ./verify/... ./bench/... ./customop/...
# A count, not a duration: with a duration Go 1.26's fuzz coordinator can
# report a spurious "context deadline exceeded" failure at the deadline
# (go.dev/issue/75804, fixed in Go 1.27). 200000 inputs take 4-6 s here.
FUZZTIME ?= 200000x

test: setup ort-releases
	go vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(MAKE) test-go test-race test-fuzz customop-asan-test customop-asan-ort-test customop-ort-releases-test

test-go:
	go test $(GO_TEST_FLAGS) ./...
	$(GOSIMD) go vet ./runtime/goexec
	$(GOSIMD) go test $(GO_TEST_FLAGS) ./runtime/goexec
	go vet -tags purego ./runtime/goexec
	go test -tags purego $(GO_TEST_FLAGS) ./runtime/goexec

test-race:
	go test -race $(GO_TEST_FLAGS) $$(go list $(RACE_PKGS) 2>/dev/null)
	$(GOSIMD) go test -race $(GO_TEST_FLAGS) ./runtime/goexec
	go test -race $(GO_TEST_FLAGS) -run TestConvertConcurrent ./convert

test-fuzz:
	go test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./onnxmodel
	go test -run='^$$' -fuzz='^FuzzOpenSafetensors$$' -fuzztime=$(FUZZTIME) ./checkpoint

# customop-ort-releases-test: one build of the custom-op library (the one
# `make customop` ships) in real sessions of several ONNX Runtime releases,
# from the oldest API it accepts (17: ONNX Runtime 1.17) to 1.30: the same
# cases as customop-asan-ort-test, and every output equal to 1.30.0's within
# 1e-6 x max(1, max|y|); also 1.29.0, the GPU set's core, when `make
# setup-gpu` cached it. ort-releases caches the older libraries (208 MB of
# npm tarballs, fetched once; CI caches .cache/onnxruntime-releases).
# Leak checking is off here: customop-asan-ort-test checks the library's
# leaks, and older ONNX Runtime builds have their own.
ORT_RELEASES := 1.17.3 1.20.1 1.24.3
CUSTOMOP_RELEASES_OUT := $(CUSTOMOP_OUT)/releases

ort-releases:
	./scripts/fetch-onnxruntime-releases.sh

customop-ort-releases-test: customop ort ort-releases $(CUSTOMOP_OUT)/asan/ort_session_test
	@test -f $(CUSTOMOP_ORT_CASES)/manifest.txt || $(MAKE) customop-ort-cases
	rm -rf $(CUSTOMOP_RELEASES_OUT) && mkdir -p $(CUSTOMOP_RELEASES_OUT)/1.30.0
	ASAN_OPTIONS=detect_leaks=0 WTONNX_DUMP_OUTPUTS=$(CUSTOMOP_RELEASES_OUT)/1.30.0 \
		$(CUSTOMOP_OUT)/asan/ort_session_test $(CUSTOMOP_LIB) $(CUSTOMOP_ORT_CASES) .cache/onnxruntime/libonnxruntime.so.1 \
		> $(CUSTOMOP_RELEASES_OUT)/1.30.0.log 2>&1 || { cat $(CUSTOMOP_RELEASES_OUT)/1.30.0.log; exit 1; }
	@for lib in $(foreach v,$(ORT_RELEASES),.cache/onnxruntime-releases/$(v)/libonnxruntime.so.1) \
		$(wildcard .cache/onnxruntime-gpu/libonnxruntime.so.1); do \
		log=$(CUSTOMOP_RELEASES_OUT)/$$(echo $$lib | tr / _).log; \
		ASAN_OPTIONS=detect_leaks=0 WTONNX_REF_OUTPUTS=$(CUSTOMOP_RELEASES_OUT)/1.30.0 \
			$(CUSTOMOP_OUT)/asan/ort_session_test $(CUSTOMOP_LIB) $(CUSTOMOP_ORT_CASES) $$lib > $$log 2>&1 \
			|| { cat $$log; echo "customop: $$lib failed"; exit 1; }; \
		grep -E "^(ONNX Runtime|[0-9]+ (sessions|outputs))" $$log; \
	done
