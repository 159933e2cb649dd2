package main

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// A timeline is a picture of where the boot's time goes: one row per
// variant, one bar segment per phase, drawn to one scale, so the variants
// compare at a glance. Plain SVG 1.1, written here without dependencies;
// each segment carries a <title> (the browser's tooltip) with its name
// and milliseconds.

// timelineSeg is one phase of a row: its name and duration, and the
// stage it belongs to, which gives its colour and legend entry (the name
// when empty), so that rows with different phases compare stage by stage.
type timelineSeg struct {
	Name  string
	Ms    float64
	Stage string
}

func (s timelineSeg) stage() string {
	if s.Stage != "" {
		return s.Stage
	}
	return s.Name
}

// timelineRow is one variant: its label and its phases in order.
type timelineRow struct {
	Label string
	Segs  []timelineSeg
}

func (r timelineRow) total() float64 {
	t := 0.0
	for _, s := range r.Segs {
		t += max(s.Ms, 0)
	}
	return t
}

// Layout of the picture, in SVG user units (pixels).
const (
	svgLabelW = 150.0 // the row labels' column
	svgPlotW  = 640.0 // the bars: the longest row fills it
	svgRightW = 80.0  // the totals
	svgRowH   = 34.0
	svgBarH   = 22.0
	svgTop    = 40.0 // the title
	svgAxisH  = 30.0
	svgLegend = 20.0 // one legend line
)

// svgColors are the phases' fills, by first appearance of the name.
var svgColors = []string{"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948",
	"#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#86bcb6", "#d37295"}

// timelineSVG draws the rows as an SVG document.
func timelineSVG(title string, rows []timelineRow) []byte {
	longest := 0.0
	color := map[string]string{}
	var names []string
	for _, r := range rows {
		longest = max(longest, r.total())
		for _, s := range r.Segs {
			if _, ok := color[s.stage()]; !ok {
				color[s.stage()] = svgColors[len(names)%len(svgColors)]
				names = append(names, s.stage())
			}
		}
	}
	scale := 0.0
	if longest > 0 {
		scale = svgPlotW / longest
	}
	legendCols := 2
	legendRows := (len(names) + legendCols - 1) / legendCols
	width := svgLabelW + svgPlotW + svgRightW
	height := svgTop + float64(len(rows))*svgRowH + svgAxisH + float64(legendRows)*svgLegend + 10

	var b bytes.Buffer
	esc := func(s string) string {
		var e bytes.Buffer
		_ = xml.EscapeText(&e, []byte(s))
		return e.String()
	}
	f := func(x float64) string { return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", x), "0"), ".") }
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%s" height="%s" viewBox="0 0 %s %s" font-family="sans-serif" font-size="12">`+"\n",
		f(width), f(height), f(width), f(height))
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="24" font-size="14" font-weight="bold">%s</text>`+"\n", esc(title))

	// The axis: ticks at a round step, 5 to 10 of them.
	axisY := svgTop + float64(len(rows))*svgRowH + 4
	step := niceStep(longest)
	fmt.Fprintf(&b, `<g class="axis" stroke="#999999">`+"\n")
	fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", f(svgLabelW), f(axisY), f(svgLabelW+svgPlotW), f(axisY))
	for t := 0.0; step > 0 && t <= longest*1.0001; t += step {
		x := svgLabelW + t*scale
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#dddddd"/>`+"\n", f(x), f(svgTop-4), f(x), f(axisY))
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" stroke="none" fill="#555555">%s ms</text>`+"\n", f(x), f(axisY+16), f(t))
	}
	fmt.Fprintf(&b, "</g>\n")

	for i, r := range rows {
		y := svgTop + float64(i)*svgRowH
		fmt.Fprintf(&b, `<g class="row" data-label="%s">`+"\n", esc(r.Label))
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="end">%s</text>`+"\n", f(svgLabelW-8), f(y+svgBarH/2+4), esc(r.Label))
		x := svgLabelW
		for _, s := range r.Segs {
			w := max(s.Ms, 0) * scale
			fmt.Fprintf(&b, `<rect class="seg" x="%s" y="%s" width="%s" height="%s" fill="%s" stroke="#ffffff" stroke-width="0.5" data-ms="%s"><title>%s: %.0f ms</title></rect>`+"\n",
				f(x), f(y), f(w), f(svgBarH), color[s.stage()], f(s.Ms), esc(s.Name), s.Ms)
			// A label inside the segment where it fits (about 6.5 px a character).
			if label := esc(s.Name); w >= 6.5*float64(len(s.Name))+6 {
				fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" fill="#ffffff" font-size="11">%s</text>`+"\n", f(x+w/2), f(y+svgBarH/2+4), label)
			}
			x += w
		}
		fmt.Fprintf(&b, `<text x="%s" y="%s">%.0f ms</text>`+"\n", f(x+6), f(y+svgBarH/2+4), r.total())
		fmt.Fprintf(&b, "</g>\n")
	}

	ly := axisY + svgAxisH
	colW := (svgLabelW + svgPlotW + svgRightW - 20) / float64(legendCols)
	fmt.Fprintf(&b, `<g class="legend">`+"\n")
	for i, n := range names {
		x := 10 + float64(i%legendCols)*colW
		y := ly + float64(i/legendCols)*svgLegend
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="12" height="12" fill="%s"/><text x="%s" y="%s">%s</text>`+"\n", f(x), f(y-10), color[n], f(x+16), f(y), esc(n))
	}
	fmt.Fprintf(&b, "</g>\n</svg>\n")
	return b.Bytes()
}

// niceStep is a tick step of 1, 2 or 5 times a power of ten that cuts
// span into 4 to 10 parts.
func niceStep(span float64) float64 {
	if span <= 0 || math.IsNaN(span) || math.IsInf(span, 0) {
		return 0
	}
	p := math.Pow(10, math.Floor(math.Log10(span)))
	for _, m := range []float64{0.1, 0.2, 0.5, 1, 2, 5} {
		if span/(m*p) <= 10 {
			return m * p
		}
	}
	return 10 * p
}

// writeTimeline writes timelineSVG to path, making its directory.
func writeTimeline(path, title string, rows []timelineRow) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, timelineSVG(title, rows), 0o644)
}

// The boot's stages, common to both rows of the boot timeline.
const (
	stageStart  = "exec of /init, Go's start, API mounts (ours)"
	stageCD     = "drivers, up to the CD"
	stageRoot   = "image, snapshot, mount of the root"
	stageSwitch = "switch_root → the real init's first line"
)

// bootTimeline is the boot benchmark's rows, from "Run /init" to the real
// init's first line, each the variant's boot with the median init cost (a
// real boot, whose parts add up): ours (one row per medium) from
// state.json's steps (the steps up to "cd" are the drivers' stage, the
// rest the root's), with what comes before them (the exec of /init, Go's
// start, the API mounts and config) and after them (switch_root, the real
// init's exec); the recipe from the kernel's landmarks: sr0's registration
// and dm-0's mount.
func bootTimeline(recipe *variant, ours ...*variant) []timelineRow {
	var rows []timelineRow
	for _, v := range ours {
		rows = append(rows, ourTimelineRow(v))
	}
	at := func(v *variant, key string, i int) float64 {
		if xs := v.samples[key]; i < len(xs) && len(xs) == len(v.samples["cost"]) {
			return xs[i]
		}
		return math.NaN()
	}
	j := medianIndex(recipe.samples["cost"])
	cd, root, tail := at(recipe, "cd", j)*1000, at(recipe, "root", j)*1000, at(recipe, "tail", j)*1000
	r := timelineRow{Label: "shell recipe, plain CD"}
	if !math.IsNaN(cd + root + tail) {
		mods := recipe.initrd.modules
		n := slices.Index(mods, "sr_mod") + 1
		r.Segs = []timelineSeg{{fmt.Sprintf("insmod × %d → [sr0]", n), cd, stageCD},
			{fmt.Sprintf("insmod × %d, mount, losetup, dmsetup, mount", len(mods)-n), root - cd, stageRoot}, {"switch_root", tail, stageSwitch}}
	}
	return append(rows, r)
}

// timelineLabels name our variants' rows.
var timelineLabels = map[string]string{"ours": "sandbox-init, plain CD", "livecd": "sandbox-init, Live CD"}

// ourTimelineRow is one of our variants' median boot, phase by phase.
func ourTimelineRow(v *variant) timelineRow {
	o := timelineRow{Label: cmp.Or(timelineLabels[v.name], v.name)}
	i := medianIndex(v.samples["cost"])
	at := func(key string) float64 {
		if xs := v.samples[key]; i < len(xs) && len(xs) == len(v.samples["cost"]) {
			return xs[i]
		}
		return math.NaN()
	}
	if b := at("before"); !math.IsNaN(b) {
		o.Segs = append(o.Segs, timelineSeg{"start: exec, Go, API mounts", b, stageStart})
	}
	stage := stageCD
	if !slices.Contains(v.order, "cd") {
		stage = "sandbox-init's steps"
	}
	for _, name := range v.order {
		if xs := v.phases[name]; i < len(xs) {
			o.Segs = append(o.Segs, timelineSeg{name, xs[i], stage})
		}
		if name == "cd" {
			stage = stageRoot
		}
	}
	if s := at("switch"); !math.IsNaN(s) {
		o.Segs = append(o.Segs, timelineSeg{"switch_root", s, stageSwitch})
	}
	return o
}

// medianIndex is the index of the median sample (the lower of the middle
// two for an even count), 0 for none.
func medianIndex(xs []float64) int {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(xs[a], xs[b]) })
	if len(idx) == 0 {
		return 0
	}
	return idx[(len(idx)-1)/2]
}
