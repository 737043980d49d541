package checkpoint

import (
	"encoding/binary"
	"os"
	"testing"
)

// FuzzOpenSafetensors feeds arbitrary bytes to the safetensors reader and
// every accessor behind it. Whatever the input: no panic, no allocation
// beyond the input's size, and a file that parses accounts for every data
// byte. Seeds: the committed corpus under testdata/fuzz (built from the
// official reference file) plus that file itself.
func FuzzOpenSafetensors(f *testing.F) {
	if ref, err := os.ReadFile(officialFile("odd_c4_k3_l2")); err == nil {
		f.Add(ref)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ck, err := ParseSafetensors("fuzz", data)
		if err != nil {
			return
		}
		hdr := binary.LittleEndian.Uint64(data)
		covered := 0
		for _, name := range ck.Names() {
			e := ck.entries[name]
			covered += len(e.raw)
			x, err := ck.Tensor(name)
			if err != nil {
				continue
			}
			if x.Validate() != nil {
				t.Fatalf("tensor %q decoded inconsistently: %v", name, x.Validate())
			}
		}
		if uint64(covered) != uint64(len(data))-8-hdr {
			t.Fatalf("tensors cover %d of %d data bytes", covered, uint64(len(data))-8-hdr)
		}
		info, err := ck.LayerInfo("layer.")
		if err != nil {
			return
		}
		if l := info.Layer(); l.Validate() == nil {
			if wt, err := ck.LayerWeights("layer.", l); err == nil {
				if err := wt.Check(l); err != nil {
					t.Fatalf("LayerWeights returned weights that fail Check: %v", err)
				}
			}
		}
	})
}
