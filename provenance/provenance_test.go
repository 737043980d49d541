package provenance

import (
	"runtime/debug"
	"testing"

	"github.com/wtonnx/wtonnx/onnxpb"
)

func TestVersionOf(t *testing.T) {
	for _, c := range []struct {
		bi   debug.BuildInfo
		want string
	}{
		{debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}}, "v0.3.0"},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}, "0123456789ab-dirty"},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "false"}}}, "0123456789ab"},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
	} {
		if got := versionOf(&c.bi); got != c.want {
			t.Errorf("versionOf(%+v) = %q, want %q", c.bi, got, c.want)
		}
	}
}

// Stamping keeps other tools' entries, replaces an earlier wtonnx record
// entirely (no stale option survives) and records the source producer.
func TestStampReplacesEarlierRecord(t *testing.T) {
	str := func(s string) *string { return &s }
	m := &onnxpb.ModelProto{
		ProducerName: str("pytorch"), ProducerVersion: str("1.13.1"),
		MetadataProps: []*onnxpb.StringStringEntryProto{{Key: str("author"), Value: str("someone")}},
	}
	Stamp(m, Record{Version: "v1", Command: "convert", Options: map[string]string{"init": "random", "seed": "3"}, SourceSHA256: "aa"})
	r, ok := Read(m)
	if !ok || r.SourceProducer != "pytorch" || r.SourceProducerVersion != "1.13.1" || r.Options["seed"] != "3" {
		t.Fatalf("first record %+v", r)
	}
	if m.GetProducerName() != ProducerName || m.GetProducerVersion() != "v1" {
		t.Errorf("producer %q %q", m.GetProducerName(), m.GetProducerVersion())
	}
	Stamp(m, Record{Version: "v2", Command: "convert", Options: map[string]string{"init": "preserve"}, SourceSHA256: "bb"})
	r, _ = Read(m)
	if r.Options["seed"] != "" || r.Options["init"] != "preserve" || r.SourceSHA256 != "bb" || r.SourceProducer != ProducerName || r.SourceProducerVersion != "v1" {
		t.Errorf("second record %+v", r)
	}
	if k := m.GetMetadataProps()[0]; k.GetKey() != "author" || k.GetValue() != "someone" {
		t.Errorf("other entries not kept first: %v", m.GetMetadataProps())
	}
	if _, ok := Read(&onnxpb.ModelProto{}); ok {
		t.Error("Read found a record in an empty model")
	}
}
