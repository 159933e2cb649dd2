package status

import (
	"testing"

	"github.com/sandbox-init/sandbox-init/dm"
)

// TestCOWLine: the cow: line of sandbox-init status, as the VM tests and
// users read it, for each state of the snapshot.
func TestCOWLine(t *testing.T) {
	why := func() string { return "INVALID (because)" }
	for _, tc := range []struct {
		st   dm.SnapshotStatus
		want string
	}{
		{dm.SnapshotStatus{Used: 250, Total: 1000, Metadata: 8}, "cow: 25.0% used (250 of 1000 sectors, 8 metadata)"},
		{dm.SnapshotStatus{Overflow: true, Used: 1000, Total: 1000}, "cow: FULL (new writes fail; what is there reads fine)"},
		{dm.SnapshotStatus{Invalid: true}, "cow: INVALID (because)"},
	} {
		if got := cowLine(tc.st, why); got != tc.want {
			t.Errorf("cowLine(%+v) = %q, want %q", tc.st, got, tc.want)
		}
	}
}
