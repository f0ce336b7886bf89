// Package shareddata finds the project's shared test inputs (../shared/testdata beside the
// checkout: prompts, camera photos and hostile files) for the tests of the packages under
// internal, and skips a test when they are absent, as on a laptop with the checkout alone.
package shareddata

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Dir is the shared test data folder, relative to a package folder under internal, where
// go test runs a package's tests.
var Dir = filepath.Join("..", "..", "..", "shared", "testdata")

// Read returns a file of the shared test data, or skips the test when it is absent.
func Read(tb testing.TB, parts ...string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(append([]string{Dir}, parts...)...))
	if errors.Is(err, os.ErrNotExist) {
		tb.Skipf("shared test data is not available: %v", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// Files returns the paths of a folder of the shared test data that match pattern, or skips
// the test when there are none.
func Files(tb testing.TB, dir, pattern string) []string {
	tb.Helper()
	paths, _ := filepath.Glob(filepath.Join(Dir, dir, pattern))
	if len(paths) == 0 {
		tb.Skipf("shared test data %s/%s is not available", dir, pattern)
	}
	return paths
}
