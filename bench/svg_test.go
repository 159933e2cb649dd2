package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strconv"
	"testing"
)

func TestTimelineSVG(t *testing.T) {
	rows := []timelineRow{
		{Label: "ours", Segs: []timelineSeg{{"start", 200, ""}, {"cd", 572, "to the CD"}, {"snapshot & <mount>", 60, "root"}}},
		{Label: "recipe", Segs: []timelineSeg{{"modules + CD", 467, "to the CD"}, {"loop, dm, mount", 414, "root"}, {"switch_root", 159, ""}}},
		{Label: "empty"},
	}
	doc := timelineSVG(`boot "phases" & more`, rows)

	// Well-formed XML, an <svg> root; collect the rows and their segments.
	d := xml.NewDecoder(bytes.NewReader(doc))
	var root string
	var labels []string
	var widths, ms []float64
	var fills []string
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				root = e.Name.Local
			}
			attr := map[string]string{}
			for _, a := range e.Attr {
				attr[a.Name.Local] = a.Value
			}
			if e.Name.Local == "g" && attr["class"] == "row" {
				labels = append(labels, attr["data-label"])
			}
			if e.Name.Local == "rect" && attr["class"] == "seg" {
				w, err1 := strconv.ParseFloat(attr["width"], 64)
				m, err2 := strconv.ParseFloat(attr["data-ms"], 64)
				if err1 != nil || err2 != nil {
					t.Fatalf("segment width %q, data-ms %q", attr["width"], attr["data-ms"])
				}
				widths, ms, fills = append(widths, w), append(ms, m), append(fills, attr["fill"])
			}
		case xml.EndElement:
			depth--
		}
	}
	if root != "svg" {
		t.Errorf("root element %q, want svg", root)
	}
	if len(labels) != len(rows) {
		t.Fatalf("%d rows (%q), want %d", len(labels), labels, len(rows))
	}
	for i, r := range rows {
		if labels[i] != r.Label {
			t.Errorf("row %d label %q, want %q", i, labels[i], r.Label)
		}
	}
	if len(widths) != 6 {
		t.Fatalf("%d segments, want 6", len(widths))
	}
	// Widths proportional to the times, one scale for all rows; the
	// longest row (the recipe's, 1040 ms) fills the plot.
	k := widths[0] / ms[0]
	for i := range widths {
		if math.Abs(widths[i]-k*ms[i]) > 0.02 {
			t.Errorf("segment %d: width %v for %v ms, want %v", i, widths[i], ms[i], k*ms[i])
		}
	}
	// Colours by stage: the same stage, the same colour, across rows.
	if fills[1] != fills[3] || fills[2] != fills[4] || fills[1] == fills[2] || fills[0] == fills[5] {
		t.Errorf("fills by stage: %q", fills)
	}
	if got := k * 1040; math.Abs(got-svgPlotW) > 0.05 {
		t.Errorf("the longest row is %v wide, want %v", got, svgPlotW)
	}
}

func TestNiceStep(t *testing.T) {
	for span, want := range map[float64]float64{1040: 200, 100: 10, 5: 0.5, 0: 0, 3000: 500} {
		if got := niceStep(span); math.Abs(got-want) > 1e-9 {
			t.Errorf("niceStep(%v) = %v, want %v", span, got, want)
		}
	}
}

func TestMedianIndex(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want int
	}{{nil, 0}, {[]float64{5}, 0}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 3}} {
		if got := medianIndex(c.xs); got != c.want {
			t.Errorf("medianIndex(%v) = %d, want %d", c.xs, got, c.want)
		}
	}
}
