//go:build !race

package goexec

const raceDetector = false
