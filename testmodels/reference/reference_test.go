package reference

import "testing"

func TestCasesLoad(t *testing.T) {
	cases, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 8 {
		t.Fatalf("found %d cases, want the 3 official and 5 own", len(cases))
	}
	for _, c := range cases {
		if _, err := c.Weights(); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
		if _, err := c.Input(); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
		if _, err := c.Output(); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
	off, _ := Official()
	for _, c := range off {
		if c.SourcePath() == "" {
			t.Errorf("official case %s has no source.onnx", c.Name)
		}
	}
}
