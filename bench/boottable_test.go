package main

import (
	"testing"
)

// The boot table puts ours on the plain CD and on the Live CD beside the
// recipe, each ratio over the recipe's median; the phase table and the
// timeline have both of our media.
func TestBootTablesLiveCD(t *testing.T) {
	v := func(name string, costs ...float64) *variant {
		x := &variant{name: name, samples: map[string][]float64{"cost": costs}, phases: map[string][]float64{}}
		if name != "recipe" {
			x.order = []string{"cd", "image"}
			x.phases["cd"] = []float64{100, 300, 200}
			x.phases["image"] = []float64{10, 30, 20}
			if name == "livecd" {
				x.phases["image"] = []float64{40, 60, 50}
			}
		}
		return x
	}
	ours, live, recipe := v("ours", 0.7, 0.8, 0.9), v("livecd", 0.9, 1.0, 1.1), v("recipe", 1.0, 1.2, 1.1)
	img := &images{ours: initramfs{gz: 100, unpacked: 200}, recipe: initramfs{gz: 400, unpacked: 400}}
	tabs := bootTables(img, 3, ours, live, recipe)
	if len(tabs) != 2 {
		t.Fatalf("got %d tables, want the boot table and the phases", len(tabs))
	}
	cost := tabs[0].rows[0]
	if want := []string{"0.800 (0.700–0.900)", "1.000 (0.900–1.100)", "1.100 (1.000–1.200)", "0.73", "0.91"}; !equalStrings(cost[1:], want) {
		t.Errorf("init cost row %q, want %q", cost[1:], want)
	}
	img2 := tabs[1].rows[1]
	if img2[0] != "image" || img2[1] != "20.0 (10.0–30.0)" || img2[3] != "50.0 (40.0–60.0)" {
		t.Errorf("phase row %q: want image, plain 20.0 (10.0–30.0), Live CD 50.0 (40.0–60.0)", img2)
	}
	rows := bootTimeline(recipe, ours, live)
	if len(rows) != 3 || rows[0].Label != "sandbox-init, plain CD" || rows[1].Label != "sandbox-init, Live CD" || rows[1].Segs[1].Ms != 60 {
		t.Errorf("timeline rows %+v: want plain CD, Live CD (its median boot's image: 60 ms), recipe", rows)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
