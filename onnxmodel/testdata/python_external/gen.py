#!/usr/bin/python3
"""Generate model.onnx + weights.bin: a small model whose large initializers
live in an external data file written by the onnx Python package itself.

Run from this folder with Debian's python (needs python3-onnx):
    /usr/bin/python3 gen.py
The Go test TestLoadPythonExternalData recomputes the same values:
    S[i]    = i + 1                 (4 floats, stays inside model.onnx)
    W[i, j] = 0.25*(300*i + j) - 100 (4x300 floats, external)
    B[j]    = -0.5*j                (300 floats, external)
"""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

S = np.arange(1, 5, dtype=np.float32)
W = (0.25 * np.arange(1200, dtype=np.float32) - 100).reshape(4, 300).astype(np.float32)
B = (-0.5 * np.arange(300, dtype=np.float32)).astype(np.float32)

graph = helper.make_graph(
    [
        helper.make_node("Add", ["x", "S"], ["h"], name="shift"),
        helper.make_node("MatMul", ["h", "W"], ["p"], name="project"),
        helper.make_node("Add", ["p", "B"], ["y"], name="bias"),
    ],
    "python_external",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 300])],
    initializer=[
        numpy_helper.from_array(S, "S"),
        numpy_helper.from_array(W, "W"),
        numpy_helper.from_array(B, "B"),
    ],
)
model = helper.make_model(graph, producer_name="onnx-python",
                          opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 7
onnx.checker.check_model(model, full_check=True)
onnx.save(model, "model.onnx", save_as_external_data=True,
          all_tensors_to_one_file=True, location="weights.bin", size_threshold=1024)
onnx.checker.check_model("model.onnx", full_check=True)
