package main

import (
	"strings"
	"testing"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
)

// TestCheckTable: a boot's store and chunk are read from state.json's
// table, through package state, as the guest printed it (tr -d '\n').
func TestCheckTable(t *testing.T) {
	con := func(js string) console {
		return console{Console: testvm.Console{Text: "x\nBENCH state=" + js + "\nBENCH done\n"}}
	}
	good := con(`{  "table": "0 204800 snapshot 7:0 1:0 PO 16",  "phases": [{"name": "cd", "ms": 1.5}]}`)
	if err := checkTable("b", good, "PO", 16); err != nil {
		t.Error(err)
	}
	if st, err := good.sandboxState("b"); err != nil || len(st.Phases) != 1 || st.Phases[0].Millis != 1.5 {
		t.Errorf("phases %+v (%v)", st.Phases, err)
	}
	for _, tc := range []struct {
		c    console
		want string
	}{
		{good, "does not have store PO, chunk 8"},
		{con(`{"table": "0 204800 snapshot 7:0 1:0 N 8"}`), "does not have store PO, chunk 8"},
		{con(`{"table": 5}`), "state.json: invalid character"},
		{console{}, "printed no /run/sandbox/state.json"},
	} {
		if err := checkTable("b", tc.c, "PO", 8); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("checkTable(%q) = %v, want %q", tc.c.Text, err, tc.want)
		}
	}
}
