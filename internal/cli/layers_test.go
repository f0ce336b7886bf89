package cli

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsPointDown keeps the layers honest: services never import net/http, and the
// web layer never touches SQL or the database package.
func TestImportsPointDown(t *testing.T) {
	forbidden := map[string][]string{
		"web": {"database/sql", "github.com/jmoiron/sqlx", "modernc.org/sqlite",
			"github.com/jackc/pgx/v5", "github.com/sketchmaker/sketchmaker/internal/database"},
	}
	// provider and outbound are adapters that call other servers over HTTP (issue 5);
	// they serve no requests and the services reach them through their own interfaces.
	httpAllowed := map[string]bool{"web": true, "cli": true, "apptest": true, "e2e": true,
		"provider": true, "outbound": true}

	dirs, err := filepath.Glob("../*")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		pkg := filepath.Base(dir)
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			for _, imp := range imports(t, f) {
				if imp == "net/http" && !httpAllowed[pkg] {
					t.Errorf("%s imports net/http: services stay independent of HTTP", f)
				}
				for _, bad := range forbidden[pkg] {
					if imp == bad || strings.HasPrefix(imp, bad+"/") {
						t.Errorf("%s imports %s: handlers call services, not SQL", f, imp)
					}
				}
			}
		}
	}
}

func imports(t *testing.T, file string) []string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), file, src, parser.ImportsOnly)
	if err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	var out []string
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		out = append(out, p)
	}
	return out
}
