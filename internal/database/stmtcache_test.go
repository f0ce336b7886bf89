package database

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// openRaw opens a SQLite database with one connection, so every query below meets the same
// statement cache.
func openRaw(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if _, err := db.Exec(`INSERT INTO t (id, name) VALUES (?, ?)`, i, fmt.Sprint("n", i)); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// cached returns how many statements the pool's one connection holds.
func cached(t *testing.T, db *DB) int {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	n := -1
	err = conn.Raw(func(dc any) error {
		n = len(dc.(*cachingConn).stmts)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStatementsAreReused(t *testing.T) {
	db := openRaw(t)
	before := cached(t, db)
	for i := 1; i <= 5; i++ {
		var name string
		if err := db.Get(&name, `SELECT name FROM t WHERE id = ?`, i); err != nil {
			t.Fatal(err)
		}
		if name != fmt.Sprint("n", i) {
			t.Fatalf("id %d: name %q", i, name)
		}
	}
	if got := cached(t, db); got != before+1 {
		t.Fatalf("cached statements = %d after five runs of one query, want %d", got, before+1)
	}
}

func TestNestedUseOfABusyStatement(t *testing.T) {
	db := openRaw(t)
	tx, err := db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()

	// The outer rows stay open while the same statement runs again inside the loop.
	const q = `SELECT id FROM t WHERE id >= ? ORDER BY id`
	outer, err := tx.Query(q, 1)
	if err != nil {
		t.Fatal(err)
	}
	var pairs int
	for outer.Next() {
		var id int
		if err := outer.Scan(&id); err != nil {
			t.Fatal(err)
		}
		inner, err := tx.Query(q, id)
		if err != nil {
			t.Fatal(err)
		}
		for inner.Next() {
			pairs++
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if pairs != 5+4+3+2+1 {
		t.Fatalf("pairs = %d, want 15: the outer rows were disturbed", pairs)
	}
}

func TestCacheEvictsTheColdest(t *testing.T) {
	db := openRaw(t)
	for i := 0; i < stmtCacheSize+20; i++ {
		var n int
		if err := db.Get(&n, fmt.Sprintf(`SELECT %d + COUNT(*) FROM t`, i)); err != nil {
			t.Fatal(err)
		}
		if n != i+5 {
			t.Fatalf("query %d answered %d", i, n)
		}
	}
	if got := cached(t, db); got != stmtCacheSize {
		t.Fatalf("cached statements = %d, want the limit %d", got, stmtCacheSize)
	}
}

func TestFailedRunDoesNotPoisonTheStatement(t *testing.T) {
	db := openRaw(t)
	const ins = `INSERT INTO t (id, name) VALUES (?, ?)`
	if _, err := db.Exec(ins, 10, "n1"); !IsUnique(err) {
		t.Fatalf("duplicate name: %v, want a unique violation", err)
	}
	if _, err := db.Exec(ins, 10, "n10"); err != nil {
		t.Fatalf("the same statement after a failure: %v", err)
	}

	// A query cancelled half-way leaves the statement usable too.
	ctx, cancel := context.WithCancel(context.Background())
	rows, err := db.QueryContext(ctx, `SELECT id FROM t ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	rows.Next()
	cancel()
	rows.Close()
	var ids []int
	if err := db.Select(&ids, `SELECT id FROM t ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 6 {
		t.Fatalf("ids after a cancelled run = %v, want 6 of them", ids)
	}
}

func TestSchemaChangeReachesCachedStatements(t *testing.T) {
	db := openRaw(t)
	var cols []string
	columns := func() []string {
		rows, err := db.Query(`SELECT * FROM t WHERE id = 1`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		c, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cols = columns()
	if _, err := db.Exec(`ALTER TABLE t ADD COLUMN extra TEXT`); err != nil {
		t.Fatal(err)
	}
	if got := columns(); len(got) != len(cols)+1 {
		t.Fatalf("columns after ALTER = %v, before %v", got, cols)
	}
}

func TestScriptsRunUncached(t *testing.T) {
	db := openRaw(t)
	before := cached(t, db)
	_, err := db.Exec(`INSERT INTO t (name) VALUES ('a'); INSERT INTO t (name) VALUES ('b');`)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Get(&n, `SELECT COUNT(*) FROM t`); err != nil {
		t.Fatal(err)
	}
	if n != 7 {
		t.Fatalf("rows = %d, want both statements of the script run", n)
	}
	if got := cached(t, db); got != before+1 {
		t.Fatalf("cached = %d, want only the count (a script is not kept)", got)
	}
}
