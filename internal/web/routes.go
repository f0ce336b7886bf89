package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/sketchmaker/sketchmaker/internal/role"
)

// route is one row of the route table: a method and path pattern, the permission it needs,
// and whether it answers in JSON.
type route struct {
	pattern string
	perm    role.Permission
	api     bool
	handler http.HandlerFunc
}

// routes is every route SketchMaker serves, with the permission each needs. A route without
// a known permission stops the server from starting.
func (s *Server) routes() []route {
	return []route{
		// Public pages and operations.
		{"GET /{$}", role.Public, false, s.showLandingPage},
		{"GET /pricing", role.Public, false, s.showPricingPage},
		{"GET /healthz", role.Public, true, s.healthz},
		{"GET /readyz", role.Public, true, s.readyz},
		{"GET /static/{file}", role.Public, false, s.serveStatic},

		// Signing in and out, and first run.
		{"GET /login", role.Public, false, s.showLoginPage},
		{"POST /login", role.Public, false, s.login},
		{"GET /register", role.Public, false, s.showRegisterPage},
		{"POST /register", role.Public, false, s.register},
		{"POST /logout", role.SignedIn, false, s.logout},
		{"GET /setup", role.Public, false, s.showSetupPage},
		{"POST /setup", role.Public, false, s.setup},

		// The studio.
		{"GET /dashboard", role.Generate, false, s.showDashboardPage},
		{"POST /generate/image", role.Generate, true, s.generateImage},
		{"GET /api/jobs/{id}", role.Generate, true, s.getJob},
		{"GET /api/jobs/{id}/events", role.Generate, true, s.jobEvents},
		{"POST /api/jobs/{id}/cancel", role.Generate, true, s.cancelJob},

		// The gallery.
		{"GET /gallery", role.Gallery, false, s.showGalleryPage},
		{"GET /gallery/{id}", role.Gallery, false, s.showImagePage},
		{"POST /gallery/{id}/delete", role.Gallery, false, s.deleteImage},
		{"DELETE /api/gallery/{id}", role.Gallery, true, s.deleteImageAPI},
		{"GET /api/gallery", role.Gallery, true, s.listGalleryAPI},
		{"GET /images/{id}/thumb", role.Gallery, false, s.serveThumb},
		{"GET /download/{id}/{format}", role.Gallery, false, s.download},

		// The account.
		{"GET /subscription", role.SignedIn, false, s.showSubscriptionPage},
		{"GET /settings", role.SignedIn, false, s.showSettingsPage},
		{"GET /api/user/profile", role.SignedIn, true, s.profileAPI},
		{"GET /api/user/usage", role.SignedIn, true, s.usageAPI},
	}
}

// RouteInfo describes one route of the table, for tests and documentation.
type RouteInfo struct {
	Pattern string
	Perm    role.Permission
	API     bool
}

// Routes returns the route table of s.
func Routes(s *Server) []RouteInfo {
	var out []RouteInfo
	for _, rt := range s.routes() {
		out = append(out, RouteInfo{Pattern: rt.pattern, Perm: rt.perm, API: rt.api})
	}
	return out
}

// CheckRoutes refuses a table in which a route has no method or no known permission.
func CheckRoutes(routes []RouteInfo) error {
	for _, rt := range routes {
		if rt.Perm == "" || !role.Known(rt.Perm) {
			return fmt.Errorf("route %q declares no known permission", rt.Pattern)
		}
		method, _, ok := strings.Cut(rt.Pattern, " ")
		if !ok || method == "" || strings.HasPrefix(method, "/") {
			return fmt.Errorf("route %q has no method", rt.Pattern)
		}
	}
	return nil
}

// buildMux registers the routes, each behind its permission check, after CheckRoutes has
// accepted the table.
func (s *Server) buildMux(routes []route) (*http.ServeMux, error) {
	infos := make([]RouteInfo, 0, len(routes))
	for _, rt := range routes {
		infos = append(infos, RouteInfo{Pattern: rt.pattern, Perm: rt.perm, API: rt.api})
	}
	if err := CheckRoutes(infos); err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.Handle(rt.pattern, s.authorize(rt))
	}
	mux.HandleFunc("/", s.notFound)
	return mux, nil
}
