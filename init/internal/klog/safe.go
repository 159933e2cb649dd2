package klog

import (
	"fmt"
	"runtime/debug"
)

// GoSafe runs f in a goroutine whose panic does not take PID 1 down (a
// panic in any goroutine ends the process, and PID 1's end is a kernel
// panic the user cannot read): it is logged as a bug, with its stack.
// Whoever waits on f must learn of the failure through f's own deferred
// cleanup (a channel closed or sent to in a defer).
func GoSafe(log *Logger, what string, f func()) {
	go func() {
		defer func() {
			if r := recover(); r != nil {
				log.Warnf("WARNING: internal error in %s (a bug: please report it): %v\n%s", what, r, debug.Stack())
			}
		}()
		f()
	}()
}

// TriesSaid is "1 try" or "N tries", as the NBD connect and reconnect
// lines say it.
func TriesSaid(n int) string {
	if n == 1 {
		return "1 try"
	}
	return fmt.Sprintf("%d tries", n)
}
