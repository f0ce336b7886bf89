// Package e2e holds SketchMaker's end-to-end tests: they build the whole application on a
// temporary database and drive it through a real headless Chromium, failing on any console
// error or Content-Security-Policy violation the pages report.
package e2e
