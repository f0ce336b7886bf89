// Command sketchmaker-bench runs SketchMaker's benchmarks (make bench): see internal/bench.
package main

import (
	"os"

	"github.com/sketchmaker/sketchmaker/internal/bench"
)

func main() {
	os.Exit(bench.Main(os.Args[1:], os.Stdout, os.Stderr))
}
