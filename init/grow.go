package main

import "github.com/sandbox-init/sandbox-init/config"

// growTarget is the size in bytes an ext2/3/4 root file system of size
// bytes, avail of them free, grows to under sandbox.grow, with a COW store of cow bytes; 0 when it stays as it is. "auto"
// grows it until its free space is the COW store's: what the sandbox can
// take is then the store's limit, not the image's. The new block groups
// bring their own metadata (inode tables, bitmaps): a tenth more and
// 16 MiB cover it.
func growTarget(g config.Grow, size, avail, cow uint64) uint64 {
	const mib = 1 << 20
	var target uint64
	switch {
	case g.Auto:
		if avail >= cow {
			return 0
		}
		missing := cow - avail
		target = size + missing + missing/10 + 16*mib
	case g.To <= size:
		return 0 // no, or never shrinks
	default:
		target = g.To
	}
	return (target + mib - 1) &^ (mib - 1)
}
