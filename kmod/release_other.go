//go:build !linux

package kmod

import "errors"

// Release returns the running kernel's release (uname -r): there is none
// to take off a system that is not Linux.
func Release() (string, error) {
	return "", errors.New("not running Linux: no kernel release to default to")
}
