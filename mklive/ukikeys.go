package mklive

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sandbox-init/sandbox-init/internal/hostcmd"
)

// SigningKeys are the user's Secure Boot keys in a directory, as mklive
// makes them (sbctl's and efitools' names): NAME.key (PEM private key),
// NAME.crt (PEM certificate) for NAME in PK, KEK, db; NAME.esl (the
// certificate as an EFI signature list) and NAME.auth (the list signed as
// an authenticated variable: PK and KEK by PK, db by KEK) to enroll them
// in the firmware's setup mode; db.cer (DER) for mokutil --import; GUID,
// the keys' owner. Only db.key and db.crt are needed to sign.
type SigningKeys struct {
	Dir string
}

// DBKey and DBCert sign the images: the firmware checks them against db.
func (k SigningKeys) DBKey() string  { return filepath.Join(k.Dir, "db.key") }
func (k SigningKeys) DBCert() string { return filepath.Join(k.Dir, "db.crt") }

// keyChain is the order the keys are made in, each signed by the one
// before it (PK by itself): the order of the UEFI key hierarchy.
var keyChain = []struct{ name, signer string }{{"PK", "PK"}, {"KEK", "PK"}, {"db", "KEK"}}

// UseOrMakeKeys returns the keys in dir: the user's when dir holds db.key
// and db.crt, else a new set (PK, KEK, db, their signature lists and
// .auth files) made there. log says which.
func UseOrMakeKeys(dir string, log func(string, ...any)) (SigningKeys, error) {
	k := SigningKeys{Dir: dir}
	if isFile(k.DBKey()) && isFile(k.DBCert()) {
		log("signing keys: the db key %s and certificate %s (yours: the firmware must trust them, in db or as a MOK)", k.DBKey(), k.DBCert())
		return k, nil
	}
	for _, f := range []string{"PK.key", "KEK.key", "db.key", "db.crt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return k, fmt.Errorf("signing keys: %s has %s but not both db.key and db.crt: give a directory with your db key and certificate, or an empty one for mklive to make a new set", dir, f)
		}
	}
	for _, t := range []string{"openssl", "cert-to-efi-sig-list", "sign-efi-sig-list"} {
		if _, err := hostcmd.Need(t); err != nil {
			return k, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return k, err
	}
	guid, err := newGUID()
	if err != nil {
		return k, err
	}
	if err := os.WriteFile(filepath.Join(dir, "GUID"), []byte(guid+"\n"), 0o644); err != nil {
		return k, err
	}
	for _, c := range keyChain {
		if err := k.makeKey(c.name, c.signer, guid); err != nil {
			return k, err
		}
	}
	if err := hostcmd.Run("openssl", "x509", "-in", k.DBCert(), "-outform", "DER", "-out", filepath.Join(dir, "db.cer")); err != nil {
		return k, err
	}
	log("signing keys: made a new PK, KEK and db in %s (owner GUID %s): enroll them with PK.auth, KEK.auth, db.auth in the firmware's setup mode (README: Secure Boot), or db.cer with mokutil --import", dir, guid)
	return k, nil
}

// makeKey makes NAME.key and NAME.crt, the certificate's signature list
// NAME.esl and NAME.auth, the list signed by signer's key for the
// firmware's variable NAME.
func (k SigningKeys) makeKey(name, signer, guid string) error {
	p := func(n, ext string) string { return filepath.Join(k.Dir, n+"."+ext) }
	if err := hostcmd.Run("openssl", "req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
		"-subj", "/CN=sandbox-init "+name+"/", "-keyout", p(name, "key"), "-out", p(name, "crt")); err != nil {
		return err
	}
	if err := os.Chmod(p(name, "key"), 0o600); err != nil {
		return err
	}
	if err := hostcmd.Run("cert-to-efi-sig-list", "-g", guid, p(name, "crt"), p(name, "esl")); err != nil {
		return err
	}
	return hostcmd.Run("sign-efi-sig-list", "-g", guid, "-k", p(signer, "key"), "-c", p(signer, "crt"), name, p(name, "esl"), p(name, "auth"))
}

// newGUID is a random (version 4) GUID, the keys' owner in their lists.
func newGUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}

// SignEFI signs a PE image (sbsigntool's sbsign) with the db key and
// checks the signature against the certificate (sbverify).
func SignEFI(k SigningKeys, in, out string) error {
	for _, t := range []string{"sbsign", "sbverify"} {
		if _, err := hostcmd.Need(t); err != nil {
			return err
		}
	}
	if err := hostcmd.Run("sbsign", "--key", k.DBKey(), "--cert", k.DBCert(), "--output", out, in); err != nil {
		return err
	}
	if err := hostcmd.Run("sbverify", "--cert", k.DBCert(), out); err != nil {
		return fmt.Errorf("the signed image %s does not verify against %s: %w", out, k.DBCert(), err)
	}
	return nil
}

// EFIVarGUIDs are the vendor GUIDs of the key variables in efivarfs
// (/sys/firmware/efi/efivars/NAME-GUID): PK and KEK are the global
// variables', db the image security database's.
var EFIVarGUIDs = map[string]string{
	"PK":  "8be4df61-93ca-11d2-aa0d-00e098032b8c",
	"KEK": "8be4df61-93ca-11d2-aa0d-00e098032b8c",
	"db":  "d719b2cb-3d3a-4596-a3bc-dad00e67656f",
}

// EnrollScript is a shell script that enrolls the keys of a directory
// from a running Linux in the firmware's setup mode, as sbctl does: each
// variable written to efivarfs in one write, 4 bytes of attributes
// (non-volatile, boot and runtime access, time-based authenticated: 0x27)
// then the .auth file; db first and PK last, since writing PK ends setup
// mode. It reads the .auth files beside itself.
func EnrollScript() string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# Enroll PK, KEK and db from Linux in the firmware's setup mode (mklive -uki -keys).\nset -e\nd=$(dirname \"$0\")\nv=/sys/firmware/efi/efivars\nt=$(mktemp -d)\n")
	b.WriteString("[ -e $v/SetupMode-" + EFIVarGUIDs["PK"] + " ] || mount -t efivarfs efivarfs $v\n")
	for _, n := range []string{"db", "KEK", "PK"} {
		// One write() of attributes and data, as efivarfs wants it;
		// notrunc: efivarfs cannot truncate a variable.
		fmt.Fprintf(&b, "{ printf '\\047\\000\\000\\000'; cat \"$d/%[1]s.auth\"; } >$t/%[1]s\ndd if=$t/%[1]s of=$v/%[1]s-%[2]s bs=1M conv=notrunc 2>/dev/null\necho \"enrolled %[1]s\"\n", n, EFIVarGUIDs[n])
	}
	b.WriteString("rm -r $t\n")
	return b.String()
}
