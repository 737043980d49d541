// Package provenance records in a model's metadata_props how wtonnx made it,
// and reads that record back.
//
// Every model wtonnx writes carries: the wtonnx version, the command and the
// options that shape its output (init, seed, levels, kernel, format, the
// weights file and its SHA-256, ...), the SHA-256 of the source model and the
// source's own producer. producer_name and producer_version then name wtonnx.
// The record holds no timestamp and no machine-specific value, so writing the
// same model twice with the same command gives the same bytes.
//
// Every writer of models (convert today) calls Stamp just before saving;
// report calls Read to tell an intended change (init random, import) from a
// failure.
package provenance

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/wtonnx/wtonnx/onnxpb"
)

// ProducerName is the producer_name of every model wtonnx writes.
const ProducerName = "wtonnx"

// Metadata keys. Options are stored under KeyOptionPrefix + option name
// ("wtonnx.option.init").
const (
	KeyVersion               = "wtonnx.version"
	KeyCommand               = "wtonnx.command"
	KeyCommandLine           = "wtonnx.command_line"
	KeySource                = "wtonnx.source"
	KeySourceSHA256          = "wtonnx.source.sha256"
	KeySourceProducer        = "wtonnx.source.producer_name"
	KeySourceProducerVersion = "wtonnx.source.producer_version"
	KeyOptionPrefix          = "wtonnx.option."
	keyPrefix                = "wtonnx."
)

// Record is what wtonnx writes about a model it made.
type Record struct {
	// Version is wtonnx's version (see Version).
	Version string `json:"version"`
	// Command is the sub-command that wrote the model ("convert").
	Command string `json:"command"`
	// Options are the options that shape the output, by flag name
	// without dashes ("init": "random", "seed": "1", "weights.sha256": ...).
	Options map[string]string `json:"options,omitempty"`
	// Source is the source model's file name (without its folder) and
	// SourceSHA256 the SHA-256 of its bytes, in hex.
	Source       string `json:"source,omitempty"`
	SourceSHA256 string `json:"source_sha256,omitempty"`
	// SourceProducer and SourceProducerVersion are the source model's
	// producer_name and producer_version ("pytorch", "1.13.1").
	SourceProducer        string `json:"source_producer,omitempty"`
	SourceProducerVersion string `json:"source_producer_version,omitempty"`
}

// CommandLine writes the record's command and options as a command line,
// options sorted by name: "wtonnx convert --init random --seed 1".
func (r *Record) CommandLine() string {
	parts := []string{"wtonnx", r.Command}
	for _, k := range sortedKeys(r.Options) {
		if strings.HasSuffix(k, ".sha256") {
			continue
		}
		parts = append(parts, "--"+k, r.Options[k])
	}
	return strings.Join(parts, " ")
}

// Version returns wtonnx's version from the build information: the main
// module's version when it was built from a tagged module ("v0.3.0"), else
// the VCS revision ("a1b2c3d4e5f6", with "-dirty" when the tree had
// changes), else "devel".
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return versionOf(bi)
}

func versionOf(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

// FileSHA256 returns the SHA-256 of the file at path, in hex.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Stamp writes r into m: producer_name "wtonnx", producer_version
// r.Version, and the record's metadata_props entries. Entries of other
// tools are kept in their order; earlier wtonnx entries (m was itself made
// by wtonnx) are replaced. When r leaves the source producer empty, m's
// current producer is recorded as the source's.
func Stamp(m *onnxpb.ModelProto, r Record) {
	if r.SourceProducer == "" && r.SourceProducerVersion == "" {
		r.SourceProducer, r.SourceProducerVersion = m.GetProducerName(), m.GetProducerVersion()
	}
	var kept []*onnxpb.StringStringEntryProto
	for _, e := range m.GetMetadataProps() {
		if !strings.HasPrefix(e.GetKey(), keyPrefix) {
			kept = append(kept, e)
		}
	}
	add := func(k, v string) {
		if v != "" {
			kept = append(kept, &onnxpb.StringStringEntryProto{Key: &k, Value: &v})
		}
	}
	add(KeyVersion, r.Version)
	add(KeyCommand, r.Command)
	add(KeyCommandLine, r.CommandLine())
	add(KeySource, r.Source)
	add(KeySourceSHA256, r.SourceSHA256)
	add(KeySourceProducer, r.SourceProducer)
	add(KeySourceProducerVersion, r.SourceProducerVersion)
	for _, k := range sortedKeys(r.Options) {
		add(KeyOptionPrefix+k, r.Options[k])
	}
	m.MetadataProps = kept
	name, version := ProducerName, r.Version
	m.ProducerName, m.ProducerVersion = &name, &version
}

// Read returns the record in m's metadata_props; ok is false when m holds
// none (it was not written by wtonnx).
func Read(m *onnxpb.ModelProto) (r *Record, ok bool) {
	r = &Record{}
	for _, e := range m.GetMetadataProps() {
		k, v := e.GetKey(), e.GetValue()
		switch {
		case k == KeyVersion:
			r.Version = v
		case k == KeyCommand:
			r.Command = v
		case k == KeySource:
			r.Source = v
		case k == KeySourceSHA256:
			r.SourceSHA256 = v
		case k == KeySourceProducer:
			r.SourceProducer = v
		case k == KeySourceProducerVersion:
			r.SourceProducerVersion = v
		case strings.HasPrefix(k, KeyOptionPrefix):
			if r.Options == nil {
				r.Options = map[string]string{}
			}
			r.Options[strings.TrimPrefix(k, KeyOptionPrefix)] = v
		default:
			continue
		}
		ok = true
	}
	if !ok {
		return nil, false
	}
	return r, true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
