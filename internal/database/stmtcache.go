package database

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"strings"

	"modernc.org/sqlite"
)

// stmtCacheSize is how many prepared statements each SQLite connection keeps. The server
// runs a few dozen distinct statements; a larger set only costs re-preparing the coldest.
const stmtCacheSize = 128

// cachingConnector opens SQLite connections that keep their prepared statements.
//
// The pure-Go SQLite driver prepares every statement it runs from its text and discards it
// afterwards; parsing the SQL was a fifth of the server's CPU when serving thumbnails
// (issue 8). PostgreSQL needs nothing of the kind: pgx caches statements per connection.
type cachingConnector struct {
	base driver.Connector
}

func newCachingConnector(dsn string) (driver.Connector, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return &cachingConnector{base: base}, nil
}

// Connect opens a connection with an empty statement cache.
func (c *cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	full, ok := conn.(sqliteConn)
	if !ok {
		conn.Close()
		return nil, errors.New("sqlite connection lacks the context interfaces")
	}
	return &cachingConn{sqliteConn: full, stmts: map[string]*list.Element{},
		order: list.New()}, nil
}

// Driver returns the SQLite driver.
func (c *cachingConnector) Driver() driver.Driver { return c.base.Driver() }

// sqliteConn is every interface the SQLite driver's connections implement that
// database/sql looks for; the wrapper forwards them all by embedding.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachingConn is one SQLite connection with a least-recently-used set of prepared
// statements keyed by their text. database/sql uses a connection from one goroutine at a
// time, so it needs no lock.
type cachingConn struct {
	sqliteConn
	stmts map[string]*list.Element // of *cachedStmt
	order *list.List               // front: most recently used
}

type cachedStmt struct {
	query string
	stmt  driver.Stmt
	busy  bool // rows from it are still open
}

// Unwrap returns the driver's own connection.
func (c *cachingConn) Unwrap() driver.Conn { return c.sqliteConn }

// QueryContext runs query through its cached statement. While the rows of a statement are
// open (a transaction may query again before closing them) a second use gets a statement
// of its own, closed with its rows.
func (c *cachingConn) QueryContext(ctx context.Context, query string,
	args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.lookup(ctx, query)
	if err != nil || cs == nil {
		if errors.Is(err, errUncacheable) {
			return c.sqliteConn.QueryContext(ctx, query, args)
		}
		return nil, err
	}
	if cs.busy {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}

	rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.drop(cs)
		return nil, err
	}
	full, ok := rows.(sqliteRows)
	if !ok {
		// Not the driver this was written for: the statement goes with its rows.
		c.forget(cs)
		return &ownedRows{Rows: rows, stmt: cs.stmt}, nil
	}
	cs.busy = true
	return &cachedRows{sqliteRows: full, owner: cs}, nil
}

// ExecContext runs query through its cached statement.
func (c *cachingConn) ExecContext(ctx context.Context, query string,
	args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.lookup(ctx, query)
	if errors.Is(err, errUncacheable) || err == nil && cs.busy {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	if err != nil {
		return nil, err
	}
	res, err := cs.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
	if err != nil {
		c.drop(cs)
	}
	return res, err
}

// drop closes and forgets a statement whose run failed, so that a statement left in an
// unknown state (say, interrupted by a cancelled context) is prepared afresh next time.
func (c *cachingConn) drop(cs *cachedStmt) {
	c.forget(cs)
	cs.stmt.Close()
}

// forget removes a statement from the cache without closing it.
func (c *cachingConn) forget(cs *cachedStmt) {
	if el, ok := c.stmts[cs.query]; ok && el.Value == cs {
		c.order.Remove(el)
		delete(c.stmts, cs.query)
	}
}

// errUncacheable marks statements that run through the driver as they are: scripts of
// several statements, which the driver parses piece by piece on every run anyway.
var errUncacheable = errors.New("statement not cached")

// lookup returns query's cached statement, preparing it on a miss and closing the least
// recently used idle statement when the cache is full.
func (c *cachingConn) lookup(ctx context.Context, query string) (*cachedStmt, error) {
	if el, ok := c.stmts[query]; ok {
		c.order.MoveToFront(el)
		return el.Value.(*cachedStmt), nil
	}
	if strings.Contains(strings.TrimRight(query, "; \t\r\n"), ";") {
		return nil, errUncacheable
	}

	st, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cs := &cachedStmt{query: query, stmt: st}
	c.stmts[query] = c.order.PushFront(cs)
	c.evict()
	return cs, nil
}

// evict closes idle statements from the cold end until the cache fits.
func (c *cachingConn) evict() {
	for el := c.order.Back(); el != nil && c.order.Len() > stmtCacheSize; {
		prev := el.Prev()
		if cs := el.Value.(*cachedStmt); !cs.busy {
			cs.stmt.Close()
			c.order.Remove(el)
			delete(c.stmts, cs.query)
		}
		el = prev
	}
}

// Close closes every cached statement, then the connection.
func (c *cachingConn) Close() error {
	for el := c.order.Front(); el != nil; el = el.Next() {
		el.Value.(*cachedStmt).stmt.Close()
	}
	c.stmts, c.order = nil, list.New()
	return c.sqliteConn.Close()
}

// sqliteRows is what the SQLite driver's rows implement beyond driver.Rows.
type sqliteRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// cachedRows frees its statement for the next use when closed.
type cachedRows struct {
	sqliteRows
	owner *cachedStmt
}

// Close resets the statement and marks it free.
func (r *cachedRows) Close() error {
	err := r.sqliteRows.Close()
	if r.owner != nil {
		r.owner.busy = false
		r.owner = nil
	}
	return err
}

// ownedRows closes the statement they came from with themselves.
type ownedRows struct {
	driver.Rows
	stmt driver.Stmt
}

// Close closes the rows, then their statement.
func (r *ownedRows) Close() error {
	err := r.Rows.Close()
	r.stmt.Close()
	return err
}
