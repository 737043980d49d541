// Package dlprobe asks the dynamic loader about native libraries without
// running them: whether a shared library loads (and the loader's own reason
// when it does not, such as a missing libcudart.so.13), and what an ONNX
// Runtime library says about itself (version, execution providers compiled
// in) through its C API.
//
// Every probe dlopens the file by path with RTLD_LOCAL, so two ONNX Runtime
// builds can be probed in one process (unlike runtime/ort, whose library is
// process-global). Libraries are never unloaded: ONNX Runtime's static
// destructors do not expect it before exit, and the loader counts
// references, so probing a library that is also loaded elsewhere is harmless.
package dlprobe

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// dl_open loads path; on failure it returns NULL and copies dlerror() into err.
static void *dl_open(const char *path, int global, char *err, size_t n) {
	void *h = dlopen(path, RTLD_NOW | (global ? RTLD_GLOBAL : RTLD_LOCAL));
	if (h == NULL) {
		const char *e = dlerror();
		strncpy(err, e != NULL ? e : "unknown dlopen error", n - 1);
		err[n - 1] = 0;
	}
	return h;
}

// The two OrtApiBase entries (onnxruntime_c_api.h); stable since API 1.
typedef struct {
	const void *(*GetApi)(uint32_t version);
	const char *(*GetVersionString)(void);
} api_base;

// Indices into the OrtApi function table (onnxruntime_c_api.h, which only
// ever appends): GetErrorMessage 2, ReleaseStatus 93,
// GetAvailableProviders 125, ReleaseAvailableProviders 126, all present
// from API 4 on.
typedef void *(*fn_get_providers)(char ***out, int *n);
typedef void *(*fn_release_providers)(char **ptr, int n);
typedef const char *(*fn_error_message)(const void *status);
typedef void (*fn_release_status)(void *status);

// ort_probe fills version and providers (a '\n'-joined list) for the ONNX
// Runtime library handle h, asking for API version api. It returns 0, or -1
// with a message in err.
static int ort_probe(void *h, uint32_t api, char *version, size_t vn, char *providers, size_t pn, char *err, size_t en) {
	const api_base *(*get_base)(void) = (const api_base *(*)(void))dlsym(h, "OrtGetApiBase");
	if (get_base == NULL) {
		strncpy(err, "no OrtGetApiBase symbol: not an ONNX Runtime library", en - 1);
		return -1;
	}
	const api_base *base = get_base();
	strncpy(version, base->GetVersionString(), vn - 1);
	void *const *table = (void *const *)base->GetApi(api);
	if (table == NULL) {
		strncpy(err, "the library does not offer the requested C API version", en - 1);
		return -1;
	}
	char **names = NULL;
	int n = 0;
	void *st = ((fn_get_providers)table[125])(&names, &n);
	if (st != NULL) {
		strncpy(err, ((fn_error_message)table[2])(st), en - 1);
		((fn_release_status)table[93])(st);
		return -1;
	}
	size_t used = 0;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(names[i]);
		if (used + l + 2 >= pn)
			break;
		memcpy(providers + used, names[i], l);
		used += l;
		providers[used++] = '\n';
	}
	providers[used] = 0;
	((fn_release_providers)table[126])(names, n);
	return 0;
}

// sym_range calls a `void f(uint32_t *lo, uint32_t *hi)` export of h.
static int sym_range(void *h, const char *name, uint32_t *lo, uint32_t *hi) {
	void (*f)(uint32_t *, uint32_t *) = (void (*)(uint32_t *, uint32_t *))dlsym(h, name);
	if (f == NULL)
		return -1;
	f(lo, hi);
	return 0;
}
// cuda_probe asks the NVIDIA driver library h (libcuda.so.1) for its
// version and devices through its C entry points (cuInit, cuDriverGetVersion,
// cuDeviceGetCount, cuDeviceGet, cuDeviceGetName; CUresult is an int, 0 on
// success). It returns the failing call's CUresult, or 0; what names that call.
static int cuda_probe(void *h, int *version, int *count, char *names, size_t nn, const char **what) {
	int (*init)(unsigned) = (int (*)(unsigned))dlsym(h, "cuInit");
	int (*get_version)(int *) = (int (*)(int *))dlsym(h, "cuDriverGetVersion");
	int (*get_count)(int *) = (int (*)(int *))dlsym(h, "cuDeviceGetCount");
	int (*get)(int *, int) = (int (*)(int *, int))dlsym(h, "cuDeviceGet");
	int (*get_name)(char *, int, int) = (int (*)(char *, int, int))dlsym(h, "cuDeviceGetName");
	*what = "dlsym";
	if (init == NULL || get_version == NULL || get_count == NULL || get == NULL || get_name == NULL)
		return -1;
	int r;
	*what = "cuDriverGetVersion";
	if ((r = get_version(version)) != 0)
		return r;
	*what = "cuInit";
	if ((r = init(0)) != 0)
		return r;
	*what = "cuDeviceGetCount";
	if ((r = get_count(count)) != 0)
		return r;
	size_t used = 0;
	for (int i = 0; i < *count; i++) {
		int dev = 0;
		char name[256] = {0};
		*what = "cuDeviceGetName";
		if ((r = get(&dev, i)) != 0 || (r = get_name(name, sizeof name - 1, dev)) != 0)
			return r;
		size_t l = strlen(name);
		if (used + l + 2 >= nn)
			break;
		memcpy(names + used, name, l);
		used += l;
		names[used++] = '\n';
	}
	names[used] = 0;
	return 0;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

const errLen = 4096

// Load dlopens the shared library at path (RTLD_NOW, so every dependency and
// symbol is resolved now) and returns the loader's message when it fails.
// global makes its symbols visible to later loads (RTLD_GLOBAL), as ONNX
// Runtime does for libonnxruntime_providers_shared.so before loading a
// provider.
func Load(path string, global bool) error {
	_, err := open(path, global)
	return err
}

func open(path string, global bool) (unsafe.Pointer, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	buf := (*C.char)(C.calloc(errLen, 1))
	defer C.free(unsafe.Pointer(buf))
	g := C.int(0)
	if global {
		g = 1
	}
	h := C.dl_open(cpath, g, buf, errLen)
	if h == nil {
		return nil, &LoadError{Path: path, Reason: C.GoString(buf)}
	}
	return h, nil
}

// LoadError is the loader's refusal to load a library.
type LoadError struct {
	Path   string
	Reason string // dlerror() text, e.g. "libcudart.so.13: cannot open shared object file: No such file or directory"
}

func (e *LoadError) Error() string { return e.Reason }

// Missing returns the dependency the loader could not find ("libcudart.so.13"),
// or "" when the failure is of another kind.
func (e *LoadError) Missing() string {
	const suffix = ": cannot open shared object file"
	i := strings.Index(e.Reason, suffix)
	if i < 0 {
		return ""
	}
	name := e.Reason[:i]
	if j := strings.LastIndex(name, ": "); j >= 0 {
		name = name[j+2:]
	}
	return name
}

// ORTInfo is what an ONNX Runtime library reports about itself.
type ORTInfo struct {
	Version   string
	Providers []string // execution providers compiled in, e.g. CUDAExecutionProvider
}

// minProbeAPI is the C API version the probe asks for: every release since
// 1.17 offers it, and it has GetAvailableProviders.
const minProbeAPI = 17

// ORT loads the ONNX Runtime library at path and asks it for its version and
// the execution providers it was built with (OrtGetAvailableProviders).
func ORT(path string) (ORTInfo, error) {
	h, err := open(path, false)
	if err != nil {
		return ORTInfo{}, err
	}
	var version, providers, msg [errLen]C.char
	if C.ort_probe(h, minProbeAPI, &version[0], errLen, &providers[0], errLen, &msg[0], errLen) != 0 {
		return ORTInfo{Version: C.GoString(&version[0])}, fmt.Errorf("%s: %s", path, C.GoString(&msg[0]))
	}
	info := ORTInfo{Version: C.GoString(&version[0])}
	for _, p := range strings.Split(C.GoString(&providers[0]), "\n") {
		if p != "" {
			info.Providers = append(info.Providers, p)
		}
	}
	return info, nil
}

// Range loads the library at path and calls its exported function symbol,
// of C type void(uint32_t *lo, uint32_t *hi), returning lo and hi.
func Range(path, symbol string) (lo, hi uint32, err error) {
	h, err := open(path, false)
	if err != nil {
		return 0, 0, err
	}
	csym := C.CString(symbol)
	defer C.free(unsafe.Pointer(csym))
	var l, u C.uint32_t
	if C.sym_range(h, csym, &l, &u) != 0 {
		return 0, 0, errors.New(path + " does not export " + symbol)
	}
	return uint32(l), uint32(u), nil
}

// CUDADriver is what the NVIDIA driver reports.
type CUDADriver struct {
	Version int      // CUDA driver API version, e.g. 13000 for CUDA 13.0
	Devices []string // GPU names
}

// CUDA loads the NVIDIA driver's libcuda.so.1 and asks it for its version
// and GPUs. The error is the loader's message when the driver is not
// installed, or the failing driver call and its CUresult (100:
// CUDA_ERROR_NO_DEVICE, 999: unknown, ...) when it has no usable GPU.
func CUDA() (CUDADriver, error) {
	h, err := open("libcuda.so.1", false)
	if err != nil {
		return CUDADriver{}, err
	}
	var version, count C.int
	var names [errLen]C.char
	var what *C.char
	r := C.cuda_probe(h, &version, &count, &names[0], errLen, &what)
	d := CUDADriver{Version: int(version)}
	if r != 0 {
		return d, fmt.Errorf("libcuda.so.1: %s failed with CUresult %d%s", C.GoString(what), int(r), cudaResultName(int(r)))
	}
	for _, n := range strings.Split(C.GoString(&names[0]), "\n") {
		if n != "" {
			d.Devices = append(d.Devices, n)
		}
	}
	return d, nil
}

func cudaResultName(r int) string {
	switch r {
	case 100:
		return " (CUDA_ERROR_NO_DEVICE: no CUDA-capable GPU)"
	case 35:
		return " (CUDA_ERROR_INSUFFICIENT_DRIVER: the driver is older than the CUDA runtime)"
	case 3:
		return " (CUDA_ERROR_NOT_INITIALIZED)"
	case 999:
		return " (CUDA_ERROR_UNKNOWN)"
	}
	return ""
}
