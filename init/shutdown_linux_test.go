package main

import "testing"

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/oldroot/mnt2`:       "/oldroot/mnt2",
		`/oldroot/my\040disk`: "/oldroot/my disk",
		`/a\134b`:             `/a\b`,
		`/trailing\04`:        `/trailing\04`,
		`/not\999octal`:       `/not\999octal`,
		`/tab\011and\012nl`:   "/tab\tand\nnl",
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}
