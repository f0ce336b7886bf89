package chart_test

import (
	"encoding/xml"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/chart"
)

const hostile = `<img src=x onerror=alert(1)>a');alert(1);//"`

// parse checks that svg is well-formed XML with no style, script or event attribute, and
// returns the heights (or widths) of its bars.
func parse(t *testing.T, svg string) []float64 {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	var sizes []float64
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, svg)
		}
		el, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch el.Name.Local {
		case "script", "style", "img", "foreignObject":
			t.Fatalf("element %s in the chart", el.Name.Local)
		}
		for _, a := range el.Attr {
			if a.Name.Local == "style" || strings.HasPrefix(a.Name.Local, "on") {
				t.Fatalf("attribute %s in the chart", a.Name.Local)
			}
			if el.Name.Local == "rect" && (a.Name.Local == "height" && !isRow(svg) ||
				a.Name.Local == "width" && isRow(svg)) {
				v, _ := strconv.ParseFloat(a.Value, 64)
				sizes = append(sizes, v)
			}
		}
	}
	return sizes
}

func isRow(svg string) bool { return strings.Contains(svg, `text-anchor="end"`) }

func TestColumnsScaleAndEscape(t *testing.T) {
	svg := chart.Columns("Credits per day", []chart.Bar{
		{Label: "1 May", Value: 10}, {Label: hostile, Value: 5}, {Label: "3 May", Value: 0},
		{Label: "4 May", Value: math.NaN()},
	}, 1)
	sizes := parse(t, svg)
	if len(sizes) != 4 || sizes[0] <= 0 || math.Abs(sizes[1]-sizes[0]/2) > 0.2 ||
		sizes[2] != 0 || sizes[3] != 0 {
		t.Fatalf("bar heights %v", sizes)
	}
	if strings.Contains(svg, "<img") || strings.Contains(svg, "');alert") {
		t.Fatalf("a label became markup: %s", svg)
	}
	if !strings.Contains(svg, "&lt;img src=x onerror=alert(1)&gt;a&#39;);alert(1);//&#34;") {
		t.Fatalf("label not escaped as expected: %s", svg)
	}
}

func TestRowsScale(t *testing.T) {
	svg := chart.Rows("Top users", []chart.Bar{
		{Label: "ada@example.com", Value: 40, Note: "40 credits"},
		{Label: strings.Repeat("long", 20), Value: 10, Note: "10 credits"},
	})
	sizes := parse(t, svg)
	if len(sizes) != 2 || math.Abs(sizes[1]*4-sizes[0]) > 0.5 {
		t.Fatalf("bar widths %v", sizes)
	}
	if !strings.Contains(svg, "40 credits") || !strings.Contains(svg, "…") {
		t.Fatalf("notes or the cut label missing: %s", svg)
	}
}

func TestEmptyCharts(t *testing.T) {
	for _, svg := range []string{chart.Columns("x", nil, 1), chart.Rows("x", nil),
		chart.Rows("x", []chart.Bar{{Label: "a", Value: 0}})} {
		parse(t, svg)
		if !strings.Contains(svg, "No activity") {
			t.Fatalf("empty chart without a notice: %s", svg)
		}
	}
}

func TestLabelsStep(t *testing.T) {
	var bars []chart.Bar
	for i := range 30 {
		bars = append(bars, chart.Bar{Label: "d" + strconv.Itoa(i), Value: float64(i + 1)})
	}
	svg := chart.Columns("days", bars, 5)
	parse(t, svg)
	labels := regexp.MustCompile(`text-anchor="middle">d\d+<`).FindAllString(svg, -1)
	if len(labels) != 6 {
		t.Fatalf("%d day labels, want 6", len(labels))
	}
}

func FuzzRows(f *testing.F) {
	f.Add(hostile, 3.0)
	f.Add("\x00\xff\u2028", -1.0)
	f.Fuzz(func(t *testing.T, label string, v float64) {
		parse(t, chart.Rows(label, []chart.Bar{{Label: label, Value: v}, {Label: "b", Value: 1}}))
	})
}
