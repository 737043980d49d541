package checkpoint

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/wtconv"
)

// naming is one set of state_dict names for a WTConv layer's tensors.
type naming struct {
	name                 string
	base, bias, scale    string
	wconvPre, wconvSuf   string // wavelet conv of level i: wconvPre + i + wconvSuf
	wscalePre, wscaleSuf string
}

// The official module's names, and those of the authors' fast
// implementation (same shapes). wt_filter, iwt_filter and stride_filter are
// shared by both.
func namings() [2]naming {
	return [2]naming{
		{"official", "base_conv.weight", "base_conv.bias", "base_scale.weight", "wavelet_convs.", ".weight", "wavelet_scale.", ".weight"},
		{"fast", "base_weight", "base_bias", "base_scale", "wt_weights.", "", "wt_scales.", ""},
	}
}

const (
	keyWTFilter     = "wt_filter"
	keyIWTFilter    = "iwt_filter"
	keyStrideFilter = "stride_filter"
)

func (n naming) wconv(i int) string  { return n.wconvPre + strconv.Itoa(i) + n.wconvSuf }
func (n naming) wscale(i int) string { return n.wscalePre + strconv.Itoa(i) + n.wscaleSuf }

// levelIndex parses rel as pre + decimal index + suf.
func levelIndex(rel, pre, suf string) (int, bool) {
	if !strings.HasPrefix(rel, pre) || !strings.HasSuffix(rel, suf) || len(rel) <= len(pre)+len(suf) {
		return 0, false
	}
	mid := rel[len(pre) : len(rel)-len(suf)]
	for _, r := range mid {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	if len(mid) > 1 && mid[0] == '0' {
		return 0, false
	}
	i, err := strconv.Atoi(mid)
	if err != nil || i > 1<<20 {
		return 0, false
	}
	return i, true
}

// layout is the classification of the tensors under one prefix.
type layout struct {
	prefix  string
	naming  naming
	present map[string]bool // relative names
	wconv   map[int]string  // level index -> relative name
	wscale  map[int]string
}

// NormalizePrefix appends the "." separator to a non-empty prefix that lacks it.
func NormalizePrefix(prefix string) string {
	if prefix != "" && !strings.HasSuffix(prefix, ".") {
		return prefix + "."
	}
	return prefix
}

func (c *Checkpoint) scan(prefix string) (*layout, error) {
	prefix = NormalizePrefix(prefix)
	lay := &layout{prefix: prefix, present: map[string]bool{}, wconv: map[int]string{}, wscale: map[int]string{}}
	for name := range c.entries {
		if strings.HasPrefix(name, prefix) {
			lay.present[strings.TrimPrefix(name, prefix)] = true
		}
	}
	if len(lay.present) == 0 {
		return nil, fmt.Errorf("checkpoint %s: no tensors under the prefix %q (it holds e.g. %s)", c.path, prefix, sample(c.Names()))
	}
	// Which naming? Exactly one must be in use.
	used := -1
	all := namings()
	for i, n := range all {
		if lay.present[n.base] {
			if used >= 0 {
				return nil, fmt.Errorf("checkpoint %s: prefix %q mixes %s names (%s) and %s names (%s)",
					c.path, prefix, all[used].name, prefix+all[used].base, n.name, prefix+n.base)
			}
			used = i
		}
	}
	if used < 0 {
		return nil, fmt.Errorf("checkpoint %s: missing tensor %q (or %q): no base conv weight under the prefix %q",
			c.path, prefix+all[0].base, prefix+all[1].base, prefix)
	}
	lay.naming = all[used]
	n := lay.naming
	for rel := range lay.present {
		switch rel {
		case n.base, n.bias, n.scale, keyWTFilter, keyIWTFilter, keyStrideFilter:
			continue
		}
		if i, ok := levelIndex(rel, n.wconvPre, n.wconvSuf); ok {
			lay.wconv[i] = rel
			continue
		}
		if i, ok := levelIndex(rel, n.wscalePre, n.wscaleSuf); ok {
			lay.wscale[i] = rel
			continue
		}
		return nil, fmt.Errorf("checkpoint %s: tensor %q is not part of a WTConv layer (%s names)", c.path, prefix+rel, n.name)
	}
	return lay, nil
}

func sample(names []string) string {
	if len(names) == 0 {
		return "no tensors at all"
	}
	if len(names) > 3 {
		return strings.Join(names[:3], ", ") + ", ..."
	}
	return strings.Join(names, ", ")
}

// Info is what a checkpoint says about a layer's structure.
type Info struct {
	Channels int `json:"channels"`
	// Kernel is the wavelet-domain kernel (level 1's, or the base's when the
	// layer has no level); BaseKernel the base conv's when it differs, else 0.
	Kernel     int    `json:"kernel"`
	BaseKernel int    `json:"base_kernel,omitempty"`
	Levels     int    `json:"levels"`
	Bias       bool   `json:"bias"`
	Strided    bool   `json:"strided"` // stride_filter present: the layer has stride > 1 (the value is not stored)
	Naming     string `json:"naming"`  // "official" or "fast"
}

// Layer is the described layer with stride 1 and the default wavelet (a
// checkpoint stores neither); set Stride when Strided.
func (i Info) Layer() wtconv.Layer {
	return wtconv.Layer{Channels: i.Channels, BaseKernel: i.BaseKernel, Kernel: i.Kernel, Levels: i.Levels, Stride: 1, Bias: i.Bias, Wavelet: wtconv.DefaultWavelet}
}

// LayerInfo infers C, k, L and bias from the tensors under prefix (for
// example "layer." or "stages.1.blocks.0.dwconv."; the trailing dot may be
// omitted): C and k from the base conv weight (C x 1 x k x k), L from the
// wavelet conv indices, which must run 0..L-1 with a scale for each.
func (c *Checkpoint) LayerInfo(prefix string) (Info, error) {
	lay, err := c.scan(prefix)
	if err != nil {
		return Info{}, err
	}
	n := lay.naming
	baseName := lay.prefix + n.base
	shape := c.entries[baseName].shape
	if len(shape) != 4 || shape[1] != 1 || shape[2] != shape[3] || shape[0] < 1 || shape[2] < 1 {
		return Info{}, fmt.Errorf("checkpoint %s: tensor %q has shape %v, want C x 1 x k x k", c.path, baseName, shape)
	}
	info := Info{Channels: shape[0], Kernel: shape[2], Bias: lay.present[n.bias],
		Strided: lay.present[keyStrideFilter], Naming: n.name}
	for i := range lay.wconv {
		info.Levels = max(info.Levels, i+1)
	}
	for i := range lay.wscale {
		info.Levels = max(info.Levels, i+1)
	}
	for i := 0; i < info.Levels; i++ {
		for _, name := range []string{n.wconv(i), n.wscale(i)} {
			if !lay.present[name] {
				return Info{}, fmt.Errorf("checkpoint %s: missing tensor %q (the checkpoint has tensors of level %d)", c.path, lay.prefix+name, info.Levels)
			}
		}
	}
	// The wavelet-domain kernel may differ from the base's (a ConvNeXt conv
	// converted with its 7x7 kept as the base, 5x5 wavelet convs).
	if info.Levels > 0 {
		name := lay.prefix + n.wconv(0)
		ws := c.entries[name].shape
		if len(ws) != 4 || ws[2] != ws[3] || ws[2] < 1 {
			return Info{}, fmt.Errorf("checkpoint %s: tensor %q has shape %v, want 4C x 1 x k x k", c.path, name, ws)
		}
		if ws[2] != info.Kernel {
			info.BaseKernel, info.Kernel = info.Kernel, ws[2]
		}
	}
	return info, nil
}

// LayerWeights reads the weights of one layer stored under prefix and checks
// them against the layer: every expected tensor present with the expected
// shape, no tensor for a level or a bias the layer does not have, and the
// fixed filters (wt_filter, iwt_filter, stride_filter), when present, equal
// to the layer's wavelet filters (within 1e-6) and to ones. Scales are
// accepted as 1 x C x 1 x 1 (the official shape) or as C.
func (c *Checkpoint) LayerWeights(prefix string, layer wtconv.Layer) (*wtconv.Weights, error) {
	if err := layer.Validate(); err != nil {
		return nil, err
	}
	lay, err := c.scan(prefix)
	if err != nil {
		return nil, err
	}
	n, p := lay.naming, lay.prefix
	C, k, L := layer.Channels, layer.Kernel, layer.Levels

	var extra []int
	for i := range lay.wconv {
		if i >= L {
			extra = append(extra, i)
		}
	}
	for i := range lay.wscale {
		if i >= L {
			extra = append(extra, i)
		}
	}
	if len(extra) > 0 {
		sort.Ints(extra)
		name := n.wconv(extra[0])
		if !lay.present[name] {
			name = n.wscale(extra[0])
		}
		return nil, fmt.Errorf("checkpoint %s: tensor %q belongs to wavelet level %d, but the layer has %d levels",
			c.path, p+name, extra[0]+1, L)
	}
	if !layer.Bias && lay.present[n.bias] {
		return nil, fmt.Errorf("checkpoint %s: tensor %q is a bias, but the layer has no bias", c.path, p+n.bias)
	}
	if layer.Stride == 1 && lay.present[keyStrideFilter] {
		return nil, fmt.Errorf("checkpoint %s: tensor %q marks a strided layer, but the layer has stride 1", c.path, p+keyStrideFilter)
	}

	// load fetches a float tensor and checks its shape against the wanted ones.
	load := func(rel string, what string, want ...[]int) ([]float32, error) {
		if !lay.present[rel] {
			return nil, fmt.Errorf("checkpoint %s: missing tensor %q (%s)", c.path, p+rel, what)
		}
		t, err := c.Float32(p + rel)
		if err != nil {
			return nil, err
		}
		for _, w := range want {
			if tensor.SameShape(t.Shape, w) {
				return t.F32, nil
			}
		}
		return nil, fmt.Errorf("checkpoint %s: tensor %q has shape %v, want %v (C=%d, k=%d)", c.path, p+rel, t.Shape, want[0], C, k)
	}

	wt := &wtconv.Weights{}
	if wt.Base, err = load(n.base, "base conv weight", []int{C, 1, layer.BaseKernelSize(), layer.BaseKernelSize()}); err != nil {
		return nil, err
	}
	if layer.Bias {
		if wt.Bias, err = load(n.bias, "base conv bias", []int{C}); err != nil {
			return nil, err
		}
	}
	if wt.BaseScale, err = load(n.scale, "base scale", []int{1, C, 1, 1}, []int{C}); err != nil {
		return nil, err
	}
	for i := 0; i < L; i++ {
		w, err := load(n.wconv(i), fmt.Sprintf("wavelet conv of level %d of %d", i+1, L), []int{4 * C, 1, k, k})
		if err != nil {
			return nil, err
		}
		s, err := load(n.wscale(i), fmt.Sprintf("wavelet scale of level %d of %d", i+1, L), []int{1, 4 * C, 1, 1}, []int{4 * C})
		if err != nil {
			return nil, err
		}
		wt.Wavelet = append(wt.Wavelet, w)
		wt.WaveletScale = append(wt.WaveletScale, s)
	}

	// Fixed filters: only checked, never used.
	wav, err := wtconv.WaveletByName(layer.WaveletName())
	if err != nil {
		return nil, err
	}
	fh, fw := wav.FilterSize()
	fixed := []struct {
		rel, what string
		shape     []int
		want      []float32
	}{
		{keyWTFilter, wav.Name + " analysis filters", []int{4 * C, 1, fh, fw}, wav.AnalysisWeight(C)},
		{keyIWTFilter, wav.Name + " synthesis filters", []int{4 * C, 1, fh, fw}, wav.SynthesisWeight(C)},
		{keyStrideFilter, "stride filter (ones)", []int{C, 1, 1, 1}, ones(C)},
	}
	for _, f := range fixed {
		if !lay.present[f.rel] {
			continue
		}
		if sh := c.entries[p+f.rel].shape; f.rel != keyStrideFilter && len(sh) == 4 && (sh[2] != fh || sh[3] != fw) {
			return nil, fmt.Errorf("checkpoint %s: tensor %q holds %dx%d wavelet filters, but the layer's wavelet %s has %dx%d ones (a checkpoint for another wavelet: db%d has %d taps; convert --wavelet selects it)",
				c.path, p+f.rel, sh[2], sh[3], wav.Name, fh, fw, sh[2]/2, sh[2])
		}
		got, err := load(f.rel, f.what, f.shape)
		if err != nil {
			return nil, err
		}
		for i := range got {
			if d := math.Abs(float64(got[i]) - float64(f.want[i])); !(d <= 1e-6) {
				return nil, fmt.Errorf("checkpoint %s: tensor %q does not hold the %s: element %d is %g, want %g (a checkpoint for another wavelet?)",
					c.path, p+f.rel, f.what, i, got[i], f.want[i])
			}
		}
	}
	if err := wt.Check(layer); err != nil {
		return nil, fmt.Errorf("checkpoint %s, prefix %q: %w", c.path, p, err)
	}
	return wt, nil
}

func ones(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 1
	}
	return s
}
