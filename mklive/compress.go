package mklive

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// compressors are the command-line encoders of each method, set for what
// the kernel's decoders take: an 8 MiB window at most for zstd (the kernel
// allocates what the frame asks for), a CRC32 check for xz (not CRC64).
var compressors = map[string][]string{
	"":     {"zstd", "-19", "-q", "-c", "--zstd=wlog=23"},
	"zstd": {"zstd", "-19", "-q", "-c", "--zstd=wlog=23"},
	"xz":   {"xz", "-9e", "-c", "--check=crc32"},
}

// compress packs an initramfs the way the kernel can unpack it
// (CONFIG_RD_ZSTD, CONFIG_RD_XZ, CONFIG_RD_GZIP).
func compress(method string, raw []byte) ([]byte, error) {
	// The reference encoders pack 10-20% tighter than the Go ones (Debian
	// 12's standard kernel: 3.0 MB with zstd -19, 3.4 MB in Go): use them
	// when installed (scripts/setup.sh installs both).
	if args := compressors[method]; args != nil {
		if _, err := exec.LookPath(args[0]); err == nil {
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Stdin = bytes.NewReader(raw)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, errb.String())
			}
			return out.Bytes(), nil
		}
	}
	var out bytes.Buffer
	var w io.WriteCloser
	var err error
	switch method {
	case "", "zstd":
		// An 8 MiB window: the kernel's decoder allocates what the frame
		// header asks for.
		w, err = zstd.NewWriter(&out, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithWindowSize(8<<20))
	case "xz":
		// The kernel's xz decoder takes CRC32 or no check, not CRC64.
		w, err = xz.WriterConfig{CheckSum: xz.CRC32, DictCap: 8 << 20}.NewWriter(&out)
	case "gzip":
		w, err = gzip.NewWriterLevel(&out, gzip.BestCompression)
	default:
		return nil, fmt.Errorf("compression %q: want zstd, xz or gzip", method)
	}
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(raw); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// moduleSuffixes are the compressions kbuild applies to modules
// (CONFIG_MODULE_COMPRESS_*): .ko.xz (Debian 13, Fedora), .ko.zst (Arch,
// Ubuntu), .ko.gz.
var moduleSuffixes = []string{".xz", ".zst", ".gz"}

// plainPath is a module's path with its compression suffix dropped: the
// initramfs holds modules decompressed, the whole archive being compressed
// at once, which packs better than modules compressed one by one.
func plainPath(p string) string {
	for _, s := range moduleSuffixes {
		if strings.HasSuffix(p, ".ko"+s) {
			return strings.TrimSuffix(p, s)
		}
	}
	return p
}

// moduleReader reads module files, decompressing them by their suffix.
type moduleReader struct{ zstd *zstd.Decoder }

func (r *moduleReader) close() {
	if r.zstd != nil {
		r.zstd.Close()
	}
}

func (r *moduleReader) read(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []byte
	switch {
	case strings.HasSuffix(file, ".ko.xz"):
		var x *xz.Reader
		if x, err = xz.NewReader(bytes.NewReader(b)); err == nil {
			out, err = io.ReadAll(x)
		}
	case strings.HasSuffix(file, ".ko.zst"):
		if r.zstd == nil {
			if r.zstd, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1)); err != nil {
				return nil, err
			}
		}
		out, err = r.zstd.DecodeAll(b, nil)
	case strings.HasSuffix(file, ".ko.gz"):
		var g *gzip.Reader
		if g, err = gzip.NewReader(bytes.NewReader(b)); err == nil {
			out, err = io.ReadAll(g)
		}
	default:
		return b, nil
	}
	if err != nil {
		return nil, fmt.Errorf("decompressing %s: %w", file, err)
	}
	return out, nil
}
