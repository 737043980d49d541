//go:build !goexperiment.simd || !amd64

package goexec

func clamp(d, s []float32, lo, hi float32) { clampGo(d, s, lo, hi) }

func dot(a, b []float32) float32 { return dotGo(a, b) }

// biasClamp computes row[j] = min(max(row[j]+b, lo), hi) in one pass.
func biasClamp(row []float32, b, lo, hi float32) { biasClampGo(row, b, lo, hi) }

func erfs(d, s []float32)                        { erfsGo(d, s) }
func erfGelu(d, s []float32, c1, c2, c3 float32) { erfGeluGo(d, s, c1, c2, c3) }
