package bench

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Machine describes where a run took place.
type Machine struct {
	CPUs      int
	CPUModel  string
	MemTotal  string
	GoVersion string
	OS        string
	Date      time.Time
	LoadAvg   string // at the start, a hint of what else was running
}

// Describe reads the machine's description from /proc and the Go runtime.
func Describe() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH, Date: time.Now().UTC()}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	m.MemTotal = procField("/proc/meminfo", "MemTotal")
	if kb, err := strconv.ParseFloat(strings.TrimSuffix(m.MemTotal, " kB"), 64); err == nil {
		m.MemTotal = fmt.Sprintf("%.1f GiB", kb/(1<<20))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}

// procField returns the value of the first "name : value" line of a /proc file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// Markdown describes the machine as a list.
func (m Machine) Markdown() string {
	return fmt.Sprintf("- date: %s\n- CPU: %s, %d logical cores (nproc)\n- memory: %s\n"+
		"- Go: %s, %s\n- load average at the start: %s\n",
		m.Date.Format("2006-01-02 15:04 MST"), m.CPUModel, m.CPUs, m.MemTotal, m.GoVersion,
		m.OS, m.LoadAvg)
}

// Markers delimit the part of the results file a run rewrites; the analysis around them
// is written by people and kept.
const (
	beginMarker = "<!-- bench:begin (written by make bench; edit outside these markers) -->"
	endMarker   = "<!-- bench:end -->"
)

// Save writes the machine and the table between the markers of the file at path, creating
// the file (with the markers) when it does not exist.
func (rep *Report) Save(path string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	text := string(old)
	if !strings.Contains(text, beginMarker) || !strings.Contains(text, endMarker) {
		text = "# Benchmark results\n\n" + beginMarker + "\n" + endMarker + "\n" + text
	}

	var b strings.Builder
	b.WriteString(beginMarker + "\n\n## Latest run\n\n")
	b.WriteString(rep.Machine.Markdown() + "\n")
	if err := WriteTable(&b, rep.Rows); err != nil {
		return err
	}
	b.WriteString("\n" + endMarker)

	start := strings.Index(text, beginMarker)
	end := strings.Index(text, endMarker) + len(endMarker)
	text = text[:start] + b.String() + text[end:]
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
