// Package web is SketchMaker's HTTP layer: the route table with each route's permission,
// the middleware that wraps every request, and the HTML and JSON handlers. Handlers parse
// input, call one service and render; they never run SQL or call providers.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/admin"
	"github.com/sketchmaker/sketchmaker/internal/alert"
	"github.com/sketchmaker/sketchmaker/internal/apitoken"
	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/catalog"
	"github.com/sketchmaker/sketchmaker/internal/clientip"
	"github.com/sketchmaker/sketchmaker/internal/config"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/csrf"
	"github.com/sketchmaker/sketchmaker/internal/enhance"
	"github.com/sketchmaker/sketchmaker/internal/gallery"
	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/guard"
	"github.com/sketchmaker/sketchmaker/internal/job"
	"github.com/sketchmaker/sketchmaker/internal/mail"
	"github.com/sketchmaker/sketchmaker/internal/metrics"
	"github.com/sketchmaker/sketchmaker/internal/moderation"
	"github.com/sketchmaker/sketchmaker/internal/report"
	"github.com/sketchmaker/sketchmaker/internal/security"
	"github.com/sketchmaker/sketchmaker/internal/session"
	"github.com/sketchmaker/sketchmaker/internal/setting"
	"github.com/sketchmaker/sketchmaker/internal/signin"
	"github.com/sketchmaker/sketchmaker/internal/training"
	"github.com/sketchmaker/sketchmaker/internal/upload"
	"github.com/sketchmaker/sketchmaker/internal/vault"
)

// Deps are the services the web layer calls.
type Deps struct {
	Config     *config.Config
	Log        *slog.Logger
	Accounts   *account.Service
	Sessions   *session.Store
	Tokens     *apitoken.Store // personal API tokens; nil turns bearer tokens off
	Credits    *credit.Service
	Gallery    *gallery.Gallery
	Generation *generation.Service
	Jobs       *job.Store
	Audit      *audit.Log
	Settings   *setting.Store

	// Abuse protection and monitoring (issue 7); Metrics may be nil.
	Guard      *guard.Guard
	Moderation *moderation.Service
	Alerts     *alert.Service
	Metrics    *metrics.Metrics

	// The admin panel (issue 4).
	Admin    *admin.Service
	Vault    *vault.Service
	Catalog  *catalog.Service
	Security *security.Store
	Reports  *report.Service

	// Prompt enhancement (issue 5).
	Enhancer *enhance.Service

	// Mail and provider sign-in (issue 3).
	Mail   *mail.Sender
	SignIn *signin.Service

	// Uploads and style training (issue 6).
	Uploads  *upload.Service
	Training *training.Service

	Ready func(ctx context.Context) error
	Now   func() time.Time
}

// Server handles SketchMaker's HTTP requests.
type Server struct {
	Deps
	csrf    *csrf.Tokens
	ip      clientip.Resolver
	views   *views
	handler http.Handler
	items   *lru.Cache[string, []byte]        // encoded gallery API entries, see galleryJSON
	renders *lru.Cache[galleryKey, *rendered] // gallery listings as answered, see listing

	// mux and limits let middleware find a request's route, and the rate limit it names,
	// before the route runs.
	mux         *http.ServeMux
	limits      map[string]string
	tokenRoutes map[string]bool // the patterns that accept an API token
}

// New builds the server and its route table. It fails when a route lacks a permission.
func New(d Deps) (*Server, error) {
	v, err := loadViews()
	if err != nil {
		return nil, err
	}
	s := &Server{
		Deps:  d,
		csrf:  csrf.New([]byte("csrf:"+d.Config.SecretKey), d.Config.CSRFTimeLimit, d.Now),
		ip:    clientip.Resolver{Trusted: d.Config.TrustedProxies},
		views: v,
	}
	if s.items, err = lru.New[string, []byte](galleryItemsKept); err != nil {
		return nil, err
	}
	if s.renders, err = lru.New[galleryKey, *rendered](renderedKept); err != nil {
		return nil, err
	}
	mux, err := s.buildMux(s.routes())
	if err != nil {
		return nil, err
	}
	s.mux = mux
	s.handler = s.wrap(mux)
	return s, nil
}

// ServeHTTP handles one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// HTTPServer returns an http.Server for addr with timeouts against slow clients.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      0, // event streams and large downloads set their own deadlines
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn),
	}
}
