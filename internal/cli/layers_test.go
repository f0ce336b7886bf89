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
	// These packages may speak HTTP: the web layer and what wires or tests it, the
	// adapters that call other servers (providers, outbound fetching, FAL training), the
	// benchmark's load generator, and in-process test peers (…test packages).
	httpAllowed := map[string]bool{"web": true, "cli": true, "apptest": true, "e2e": true,
		"provider": true, "outbound": true, "training/fal": true, "bench": true}

	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") ||
			strings.HasSuffix(path, "_test.go") || strings.Contains(path, "/testdata/") {
			return err
		}
		pkg := filepath.ToSlash(strings.TrimPrefix(filepath.Dir(path), "../"))
		testPeer := strings.HasSuffix(pkg, "test")
		for _, imp := range imports(t, path) {
			if imp == "net/http" && !httpAllowed[pkg] && !testPeer {
				t.Errorf("%s imports net/http: services stay independent of HTTP", path)
			}
			for _, bad := range forbidden[pkg] {
				if imp == bad || strings.HasPrefix(imp, bad+"/") {
					t.Errorf("%s imports %s: handlers call services, not SQL", path, imp)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
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
