// Package chart draws small bar charts as SVG markup on the server, so report pages need
// no script. The markup uses presentation attributes (fill, font-size) and never a style
// attribute or element, so it renders under a Content-Security-Policy that forbids inline
// styles; every label is escaped, so text from users cannot become markup.
package chart

import (
	"fmt"
	"html"
	"math"
	"strings"
	"unicode/utf8"
)

// Bar is one bar: its label, its value and the text that says the value.
type Bar struct {
	Label string
	Value float64
	Note  string // such as "12.5 credits"; the value itself when empty
}

// Colours of the charts, matching the site's stylesheet.
const (
	barFill   = "#4338ca"
	textFill  = "#5b6275"
	axisColor = "#dfe1ea"
)

// Sizes of the drawings, in SVG units.
const (
	colWidth   = 720
	colHeight  = 220
	colBottom  = 28 // room for the day labels
	colMargin  = 24 // room for the first and last labels
	rowHeight  = 24
	rowLabelW  = 220
	rowWidth   = 720
	labelRunes = 32
)

// Columns draws bars side by side, such as one per day, with every step-th label written
// under its bar (all of them when step is below 1). title names the chart for screen
// readers.
func Columns(title string, bars []Bar, step int) string {
	var b strings.Builder
	open(&b, title, colWidth, colHeight)
	if len(bars) == 0 || peak(bars) == 0 {
		empty(&b, colWidth, colHeight)
		return b.String()
	}

	step = max(step, 1)
	slot := float64(colWidth-2*colMargin) / float64(len(bars))
	plot := float64(colHeight - colBottom - 14)
	top := peak(bars)
	for i, bar := range bars {
		h := scale(bar.Value, top, plot)
		x := colMargin + float64(i)*slot + slot*0.15
		y := float64(colHeight-colBottom) - h
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s">`+
			`<title>%s: %s</title></rect>`, x, y, slot*0.7, h, barFill,
			esc(bar.Label), esc(note(bar)))
		if i%step == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" fill="%s" `+
				`text-anchor="middle">%s</text>`, x+slot*0.35, colHeight-10, textFill,
				esc(cut(bar.Label, 10)))
		}
	}
	fmt.Fprintf(&b, `<line x1="0" y1="%d" x2="%d" y2="%d" stroke="%s"/>`,
		colHeight-colBottom, colWidth, colHeight-colBottom, axisColor)
	fmt.Fprintf(&b, `<text x="4" y="12" font-size="11" fill="%s">max %s</text>`, textFill,
		esc(note(maxBar(bars))))
	b.WriteString(`</svg>`)
	return b.String()
}

// Rows draws one horizontal bar per line, label on the left and value on the right, such
// as credits per model or per user.
func Rows(title string, bars []Bar) string {
	height := max(len(bars), 1)*rowHeight + 8
	var b strings.Builder
	open(&b, title, rowWidth, height)
	if len(bars) == 0 || peak(bars) == 0 {
		empty(&b, rowWidth, height)
		return b.String()
	}

	top := peak(bars)
	span := float64(rowWidth - rowLabelW - 110)
	for i, bar := range bars {
		y := i*rowHeight + 4
		w := scale(bar.Value, top, span)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" fill="%s" text-anchor="end">`+
			`%s</text>`, rowLabelW-8, y+15, textFill, esc(cut(bar.Label, labelRunes)))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s">`+
			`<title>%s: %s</title></rect>`, rowLabelW, y+3, w, rowHeight-8, barFill,
			esc(bar.Label), esc(note(bar)))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="12" fill="%s">%s</text>`,
			float64(rowLabelW)+w+6, y+15, textFill, esc(note(bar)))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// open starts the drawing with its accessible name.
func open(b *strings.Builder, title string, w, h int) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" `+
		`width="100%%" role="img" aria-label="%s" class="chart"><title>%s</title>`,
		w, h, esc(title), esc(title))
}

// empty says there is nothing to draw and ends the drawing.
func empty(b *strings.Builder, w, h int) {
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="13" fill="%s" text-anchor="middle">`+
		`No activity in this period.</text></svg>`, w/2, h/2, textFill)
}

// peak returns the largest value, ignoring negative, infinite and NaN values.
func peak(bars []Bar) float64 {
	top := 0.0
	for _, b := range bars {
		if !math.IsNaN(b.Value) && !math.IsInf(b.Value, 0) && b.Value > top {
			top = b.Value
		}
	}
	return top
}

// scale returns the length of a bar of value v when top is drawn as span; values that are
// negative, infinite or not numbers get no bar.
func scale(v, top, span float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		return 0
	}
	return math.Min(v/top, 1) * span
}

func maxBar(bars []Bar) Bar {
	best := bars[0]
	for _, b := range bars[1:] {
		if b.Value > best.Value {
			best = b
		}
	}
	return best
}

func note(b Bar) string {
	if b.Note != "" {
		return b.Note
	}
	return fmt.Sprintf("%g", b.Value)
}

// cut shortens s to n characters, marking the cut with an ellipsis.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// esc escapes text for SVG markup, quotes included, after making it valid UTF-8 without
// control characters, which XML forbids.
func esc(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' && r != '\n' || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return html.EscapeString(s)
}
