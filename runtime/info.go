package runtime

import (
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

// InfoFromValueInfo describes a graph input or output from its declaration:
// -1 and the symbolic name for dynamic dimensions, nil Dims when the rank is
// not declared.
func InfoFromValueInfo(vi *onnxpb.ValueInfoProto) TensorInfo {
	info := TensorInfo{Name: vi.GetName()}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return info
	}
	info.DType = tensor.DType(tt.GetElemType())
	if sh := tt.GetShape(); sh != nil {
		info.Dims = make([]int64, len(sh.GetDim()))
		info.DimNames = make([]string, len(sh.GetDim()))
		for i, d := range sh.GetDim() {
			switch v := d.GetValue().(type) {
			case *onnxpb.TensorShapeProto_Dimension_DimValue:
				info.Dims[i] = v.DimValue
			case *onnxpb.TensorShapeProto_Dimension_DimParam:
				info.Dims[i] = -1
				info.DimNames[i] = v.DimParam
			default:
				info.Dims[i] = -1
			}
		}
	}
	return info
}
