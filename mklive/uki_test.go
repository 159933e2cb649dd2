package mklive

import (
	"bytes"
	"debug/pe"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A unified kernel image from the real stub and small files: every added
// section holds its file's bytes, none overlaps another (the stub's own
// included), and the image signed with keys mklive made carries a
// signature the unsigned one lacks. Needs systemd-boot-efi, binutils,
// sbsigntool, efitools and openssl (scripts/setup.sh installs them).
func TestBuildUKI(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		".linux":  bytes.Repeat([]byte("K"), 70000),
		".initrd": bytes.Repeat([]byte("I"), 5000),
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n[1:]), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files[".cmdline"] = []byte("console=ttyS0 sandbox.verity=abc")
	files[".osrel"] = []byte(ukiOSRelease("L", "U"))
	out := filepath.Join(dir, "uki.efi")
	err := BuildUKI(UKISpec{Kernel: filepath.Join(dir, "linux"), Initramfs: filepath.Join(dir, "initrd"),
		Cmdline: string(files[".cmdline"]), OSRelease: string(files[".osrel"]), Out: out})
	if err != nil {
		t.Fatal(err)
	}
	f, err := pe.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, want := range files {
		s := f.Section(name)
		if s == nil {
			t.Fatalf("no section %s", name)
		}
		got, err := s.Data()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[:len(want)], want) {
			t.Errorf("section %s does not hold its file's bytes", name)
		}
	}
	for i, a := range f.Sections {
		for _, b := range f.Sections[i+1:] {
			if a.VirtualAddress < b.VirtualAddress+b.VirtualSize && b.VirtualAddress < a.VirtualAddress+a.VirtualSize {
				t.Errorf("sections %s and %s overlap in memory", a.Name, b.Name)
			}
		}
	}
	var log []string
	k, err := UseOrMakeKeys(filepath.Join(dir, "keys"), func(f string, a ...any) { log = append(log, f) })
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"PK.auth", "KEK.auth", "db.auth", "db.esl", "db.cer", "GUID"} {
		if st, err := os.Stat(filepath.Join(k.Dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("the new keys lack %s: %v", f, err)
		}
	}
	signed := filepath.Join(dir, "signed.efi")
	if err := SignEFI(k, out, signed); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{out: false, signed: true} {
		if got, err := KernelSigned(p); err != nil || got != want {
			t.Errorf("%s signed = %v (%v), want %v", filepath.Base(p), got, err, want)
		}
	}
	// The same directory again: the keys are the user's now.
	log = nil
	if _, err := UseOrMakeKeys(k.Dir, func(f string, a ...any) { log = append(log, f) }); err != nil || !strings.Contains(strings.Join(log, ""), "the db key") {
		t.Errorf("a directory with db.key and db.crt was not taken as it is: %v %q", err, log)
	}
}

// The enrollment script writes db, then KEK, then PK (which ends setup
// mode), each in one write of attributes 0x27 and the .auth file.
func TestEnrollScript(t *testing.T) {
	s := EnrollScript()
	db, kek, pk := strings.Index(s, "/db-"+EFIVarGUIDs["db"]), strings.Index(s, "/KEK-"+EFIVarGUIDs["KEK"]), strings.Index(s, "/PK-"+EFIVarGUIDs["PK"])
	if db < 0 || kek < 0 || pk < 0 || !(db < kek && kek < pk) {
		t.Errorf("the script does not write db, KEK, PK in that order:\n%s", s)
	}
	if strings.Count(s, `printf '\047\000\000\000'`) != 3 || strings.Count(s, "conv=notrunc") != 3 {
		t.Errorf("the script does not write 27 00 00 00 and the .auth file in one write each:\n%s", s)
	}
}
