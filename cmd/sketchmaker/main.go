// Command sketchmaker runs the SketchMaker image studio and its administration commands.
package main

import (
	"os"

	"github.com/sketchmaker/sketchmaker/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv))
}
