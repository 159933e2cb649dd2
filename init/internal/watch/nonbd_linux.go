//go:build nonet

package watch

// keepNBD: without the network (a CD's init, built with -tags nonet) there
// is no NBD root to keep.
func keepNBD(func(level int, format string, args ...any)) {}
