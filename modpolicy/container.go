package modpolicy

import "github.com/sandbox-init/sandbox-init/kmod"

// Container are the modules a CD whose root image is in a container (mklive
// -container: squashfs compressed with container) needs beyond its
// configuration's: squashfs, the decompressor when the kernel d has it as a
// module (Debian's 6.1 and 6.12 kernels have zstd's and xz's built in), and
// ext4 for the image inside (built in on Debian's cloud kernel: then
// nothing is loaded).
func Container(d *kmod.Deps, container string) []string {
	mods := []string{"squashfs"}
	for _, m := range decompressors[container] {
		if _, ok := d.Path[kmod.Name(m)]; ok {
			mods = append(mods, m)
		}
	}
	return append(mods, "ext4")
}

// decompressors are the library modules behind squashfs's decompressors,
// where a kernel builds them as modules (CONFIG_ZSTD_DECOMPRESS,
// CONFIG_XZ_DEC): modules.dep names them as squashfs's dependencies then,
// and they are asked for here too so that the initramfs has them.
var decompressors = map[string][]string{
	"zstd": {"zstd_common", "zstd_decompress"},
	"xz":   {"xz_dec"},
}
