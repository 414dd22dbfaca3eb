//go:build !libwim

// Package wimxpress wraps a reusable libwim XPRESS codec for benchmarks; it
// is empty without the "libwim" build tag.
package wimxpress
