package metrics

import (
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// label is one name="value" pair of a sample.
type label struct {
	name, value string
}

// counterVec is a counter with labels; without labels it has one series that starts at 0.
type counterVec struct {
	name, help string
	labels     []string

	mu     sync.Mutex
	series map[string]*counterSeries
}

type counterSeries struct {
	values []string
	n      float64
}

func newCounterVec(name, help string, labels ...string) *counterVec {
	c := &counterVec{name: name, help: help, labels: labels,
		series: map[string]*counterSeries{}}
	if len(labels) == 0 {
		c.series[""] = &counterSeries{}
	}
	return c
}

// add adds n to the series of values, which are as many as the vector's labels.
func (c *counterVec) add(n float64, values ...string) {
	key := strings.Join(values, "\xff")
	c.mu.Lock()
	defer c.mu.Unlock()

	s, ok := c.series[key]
	if !ok {
		s = &counterSeries{values: values}
		c.series[key] = s
	}
	s.n += n
}

func (c *counterVec) write(e *encoder) {
	c.mu.Lock()
	defer c.mu.Unlock()

	e.header(c.name, "counter", c.help)
	for _, key := range sortedKeys(c.series) {
		s := c.series[key]
		e.sample(c.name, pairs(c.labels, s.values), s.n)
	}
}

// histogramVec is a histogram with labels.
type histogramVec struct {
	name, help string
	buckets    []float64
	labels     []string

	mu     sync.Mutex
	series map[string]*histogramSeries
}

type histogramSeries struct {
	values []string
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	n      uint64
}

func newHistogramVec(name, help string, buckets []float64, labels ...string) *histogramVec {
	return &histogramVec{name: name, help: help, buckets: buckets, labels: labels,
		series: map[string]*histogramSeries{}}
}

// observe records v in the series of values.
func (h *histogramVec) observe(v float64, values ...string) {
	key := strings.Join(values, "\xff")
	h.mu.Lock()
	defer h.mu.Unlock()

	s, ok := h.series[key]
	if !ok {
		s = &histogramSeries{values: values, counts: make([]uint64, len(h.buckets)+1)}
		h.series[key] = s
	}
	i, _ := slices.BinarySearch(h.buckets, v)
	s.counts[i]++
	s.sum += v
	s.n++
}

func (h *histogramVec) write(e *encoder) {
	h.mu.Lock()
	defer h.mu.Unlock()

	e.header(h.name, "histogram", h.help)
	for _, key := range sortedKeys(h.series) {
		s := h.series[key]
		base := pairs(h.labels, s.values)
		var cum uint64
		for i, count := range s.counts {
			cum += count
			le := math.Inf(1)
			if i < len(h.buckets) {
				le = h.buckets[i]
			}
			e.sample(h.name+"_bucket", append(slices.Clip(base), label{"le", number(le)}),
				float64(cum))
		}
		e.sample(h.name+"_sum", base, s.sum)
		e.sample(h.name+"_count", base, float64(s.n))
	}
}

// encoder writes the text exposition format, remembering the first write error.
type encoder struct {
	w   io.Writer
	err error
	buf []byte
}

// header writes the HELP and TYPE lines of a metric.
func (e *encoder) header(name, typ, help string) {
	e.buf = append(e.buf[:0], "# HELP "...)
	e.buf = append(e.buf, name...)
	e.buf = append(e.buf, ' ')
	e.buf = append(e.buf, helpEscaper.Replace(help)...)
	e.buf = append(e.buf, "\n# TYPE "...)
	e.buf = append(e.buf, name...)
	e.buf = append(e.buf, ' ')
	e.buf = append(e.buf, typ...)
	e.buf = append(e.buf, '\n')
	e.flush()
}

// sample writes one line: the name, its labels and the value.
func (e *encoder) sample(name string, labels []label, v float64) {
	e.buf = append(e.buf[:0], name...)
	if len(labels) > 0 {
		e.buf = append(e.buf, '{')
		for i, l := range labels {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = append(e.buf, l.name...)
			e.buf = append(e.buf, `="`...)
			e.buf = append(e.buf, valueEscaper.Replace(l.value)...)
			e.buf = append(e.buf, '"')
		}
		e.buf = append(e.buf, '}')
	}
	e.buf = append(e.buf, ' ')
	e.buf = append(e.buf, number(v)...)
	e.buf = append(e.buf, '\n')
	e.flush()
}

func (e *encoder) flush() {
	if e.err == nil {
		_, e.err = e.w.Write(e.buf)
	}
}

// The format escapes backslash and line feed in help text, and the double quote as well in
// label values.
var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	valueEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// number formats a sample value as the format spells it.
func number(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// pairs zips label names with values.
func pairs(names, values []string) []label {
	out := make([]label, len(names))
	for i := range names {
		out[i] = label{names[i], values[i]}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
