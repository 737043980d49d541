package verify

import (
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/runtime/engines"
)

// Engine kinds accepted by Options.Engines (see package runtime/engines,
// which opens them).
const (
	EngineORT = engines.ORT // ONNX Runtime (runtime/ort)
	EngineGo  = engines.Go  // the pure-Go executor (runtime/goexec)
)

// Model is a loaded model and the file it came from.
type Model = engines.Model

// LoadModel reads and checks the model at path.
func LoadModel(path string) (*Model, error) {
	m, err := onnxmodel.Load(path)
	if err != nil {
		return nil, err
	}
	return &Model{Path: path, Proto: m}, nil
}
