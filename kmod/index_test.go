package kmod

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ReadIndex needs modules.dep and takes the other index files when they
// are there: a tree with modules.dep alone is a kernel without aliases,
// built-in modules or soft dependencies.
func TestReadIndex(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := ReadIndex(dir); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "modules.dep") {
		t.Errorf("no modules.dep: %v, want a missing modules.dep named", err)
	}
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("modules.dep", "kernel/a.ko: kernel/b.ko\nkernel/b.ko:\nkernel/c-generic.ko:\n")
	d, as, err := ReadIndex(dir)
	if err != nil || len(as) != 0 || d.Soft != nil || len(d.Builtin) != 0 || d.Path["a"] != "kernel/a.ko" {
		t.Fatalf("modules.dep alone: %+v %v %v", d, as, err)
	}
	write("modules.builtin", "kernel/crypto/crc32.ko\n")
	write("modules.alias", "alias c c_generic\n")
	write("modules.softdep", "softdep a pre: c\n")
	d, as, err = ReadIndex(dir)
	if err != nil || len(as) != 1 || !d.Builtin["crc32"] {
		t.Fatalf("all index files: %+v %v %v", d, as, err)
	}
	if s := d.Soft["a"]; len(s.Pre) != 1 || s.Pre[0] != "c_generic" {
		t.Errorf("softdep a pre: c through the alias: %+v", d.Soft)
	}
	write("modules.alias", "not an alias line\n")
	if _, _, err := ReadIndex(dir); err == nil {
		t.Error("a broken modules.alias was accepted")
	}
}
