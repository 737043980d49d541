package ort

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// NodePlacement is the execution provider ONNX Runtime ran one node on, as
// its profiler recorded it. A node ONNX Runtime fused or removed while
// optimising the graph does not appear; a fused node appears under its new
// name.
type NodePlacement struct {
	Node     string `json:"node"`
	OpType   string `json:"op_type"`
	Provider string `json:"provider"` // e.g. CPUExecutionProvider, CUDAExecutionProvider
}

// profileEvent is one entry of ONNX Runtime's Chrome-trace profile.
type profileEvent struct {
	Cat  string `json:"cat"`
	Name string `json:"name"`
	Args struct {
		OpName   string `json:"op_name"`
		Provider string `json:"provider"`
	} `json:"args"`
}

// ReadProfile reads a profile ONNX Runtime wrote (see
// Options.ProfilePrefix) and returns the nodes it ran, each once, in the
// order they first ran.
func ReadProfile(path string) ([]NodePlacement, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ort: reading the profile: %w", err)
	}
	var events []profileEvent
	if err := json.Unmarshal(data, &events); err != nil {
		return nil, fmt.Errorf("ort: %s is not an ONNX Runtime profile: %w", path, err)
	}
	var out []NodePlacement
	seen := map[string]bool{}
	for _, ev := range events {
		if ev.Cat != "Node" || ev.Args.Provider == "" {
			continue
		}
		// Each node has _fence_before, _kernel_time and _fence_after events.
		name := ev.Name
		for _, suffix := range []string{"_kernel_time", "_fence_before", "_fence_after"} {
			name = strings.TrimSuffix(name, suffix)
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, NodePlacement{Node: name, OpType: ev.Args.OpName, Provider: ev.Args.Provider})
	}
	return out, nil
}

// CountProviders counts nodes per execution provider.
func CountProviders(nodes []NodePlacement) map[string]int {
	n := map[string]int{}
	for _, p := range nodes {
		n[p.Provider]++
	}
	return n
}

// FormatCounts renders CountProviders as "CPUExecutionProvider 12,
// CUDAExecutionProvider 140", providers sorted by name.
func FormatCounts(nodes []NodePlacement) string {
	counts := CountProviders(nodes)
	names := make([]string, 0, len(counts))
	for p := range counts {
		names = append(names, p)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, p := range names {
		parts[i] = fmt.Sprintf("%s %d", p, counts[p])
	}
	return strings.Join(parts, ", ")
}

// ReadProfileFrom reads the profile a closed engine opened with
// ProfilePrefix prefix wrote.
func ReadProfileFrom(prefix string) ([]NodePlacement, error) {
	files, _ := filepath.Glob(prefix + "_*.json")
	if len(files) != 1 {
		return nil, errors.New("ort: ONNX Runtime wrote no profile (or several) with prefix " + prefix)
	}
	return ReadProfile(files[0])
}
