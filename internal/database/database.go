// Package database opens SketchMaker's SQL database, SQLite or PostgreSQL, and migrates it.
// Services write portable SQL with ? placeholders and pass it through Rebind; the few places
// where the two dialects differ are named methods here, never a second copy of a store.
package database

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	// The database drivers: pure Go SQLite, and pgx for PostgreSQL.
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// Dialect names a supported SQL dialect.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

//go:embed migrations
var migrations embed.FS

func init() {
	sqlx.BindDriver("sqlite", sqlx.QUESTION)
}

// DB is an open database with its dialect.
type DB struct {
	*sqlx.DB
	Dialect Dialect
}

// Open connects to the database named by url: a postgres:// URL, or a path to a SQLite file
// (with or without a sqlite: prefix).
func Open(ctx context.Context, rawURL string) (*DB, error) {
	if strings.HasPrefix(rawURL, "postgres://") || strings.HasPrefix(rawURL, "postgresql://") {
		return openPostgres(ctx, rawURL)
	}
	return openSQLite(ctx, strings.TrimPrefix(rawURL, "sqlite:"))
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}

	// WAL lets readers run beside the one writer; IMMEDIATE transactions take the write
	// lock up front so two writers wait for each other instead of failing half-way.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()

	connector, err := newCachingConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite database: %w", err)
	}
	db := sqlx.NewDb(sql.OpenDB(connector), "sqlite")
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite database: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("restrict database file: %w", err)
	}
	// Idle connections are kept as many as may be open: database/sql keeps only two by
	// default, so under load every third query opened a connection and ran the pragmas
	// again (8% of the server's time in issue 8's thumbnail benchmark).
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	return &DB{DB: db, Dialect: SQLite}, nil
}

func openPostgres(ctx context.Context, rawURL string) (*DB, error) {
	db, err := sqlx.ConnectContext(ctx, "pgx", rawURL)
	if err != nil {
		// The URL may hold a password, so it never goes into the error.
		return nil, fmt.Errorf("open postgresql database: %w", redact(err, rawURL))
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	return &DB{DB: db, Dialect: Postgres}, nil
}

// redact removes the URL, which may carry a password, from an error's text.
func redact(err error, rawURL string) error {
	if !strings.Contains(err.Error(), rawURL) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), rawURL, "(database url)"))
}

// Migrate applies every pending migration of the dialect, each in its own transaction. On
// PostgreSQL an advisory lock keeps instances that start together from racing.
func (db *DB) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/"+string(db.Dialect))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}

	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if db.Dialect == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}

	p, err := goose.NewProvider(dialect, db.DB.DB, sub, opts...)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Tx runs fn in a transaction, committing when it returns nil and rolling back otherwise.
func (db *DB) Tx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// SkipLocked is the clause that lets several workers claim different rows at once: on
// PostgreSQL it skips rows another transaction holds; SQLite has one writer and needs none.
func (db *DB) SkipLocked() string {
	if db.Dialect == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// IsUnique reports whether err is a violation of a unique constraint.
func IsUnique(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") ||
		strings.Contains(msg, "SQLSTATE 23505")
}

// ErrNotFound is returned by stores when a row does not exist or is not the caller's.
var ErrNotFound = errors.New("not found")

// NotFound turns sql.ErrNoRows into ErrNotFound and leaves other errors alone.
func NotFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
