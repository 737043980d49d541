// Package graph is a small toolkit for reading and rewriting ONNX graphs:
// an index of producers and consumers, unique-name generation, constant
// resolution through Identity, Constant and ConstantOfShape chains, dead-code
// removal, topological sorting and static shape inference.
//
// Rewrites follow the onnx-graphsurgeon pattern: find, build the replacement,
// splice it in, then clean up (RemoveDead) and sort (Sort).
package graph
