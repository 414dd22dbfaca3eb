// Package servicing is the home of offline servicing of Windows images
// without Windows. Its building blocks live in subpackages: hive (registry
// hives through libhivex), regfile (.reg files), inf (driver INF files) and
// unattend (ImageUnattend.xml).
package servicing
