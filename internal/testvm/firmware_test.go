package testvm

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The Secure Boot machine: q35 with SMM, the secure code read-only, the
// variables a writable copy of Microsoft's, no network card. It needs the
// ovmf package (scripts/setup.sh installs it): without it the test fails.
func TestSecureBootFirmware(t *testing.T) {
	dir := t.TempDir()
	args, err := SecureBootFirmware(dir)
	if err != nil {
		t.Fatal(err)
	}
	vars := filepath.Join(dir, "OVMF_VARS.fd")
	got := strings.Join(args, " ")
	for _, want := range []string{
		"-machine q35,smm=on",
		"-global driver=cfi.pflash01,property=secure,value=on",
		"-drive if=pflash,format=raw,unit=0,readonly=on,file=" + OVMFSecureCode,
		"-drive if=pflash,format=raw,unit=1,file=" + vars,
		"-nic none",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the arguments lack %q: %s", want, got)
		}
	}
	a, err := os.ReadFile(OVMFMSVars)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(vars)
	if err != nil || !bytes.Equal(a, b) {
		t.Errorf("the variables are not a copy of %s: %v", OVMFMSVars, err)
	}
	if st, err := os.Stat(vars); err != nil || st.Mode().Perm()&0o200 == 0 {
		t.Errorf("the variables' copy is not writable: %v", err)
	}
}
