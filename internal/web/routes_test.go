package web_test

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/apptest"
	"github.com/sketchmaker/sketchmaker/internal/role"
	"github.com/sketchmaker/sketchmaker/internal/web"
)

// TestEveryRouteForEveryRole walks the route table and checks each route for an anonymous
// visitor and each role: a route a caller may not use never runs its handler.
func TestEveryRouteForEveryRole(t *testing.T) {
	app := apptest.New(t)
	clients := map[role.Role]*apptest.Client{role.Anonymous: app.Client(t)}
	for _, r := range role.All() {
		c := app.Client(t)
		email := string(r) + "@example.com"
		// The professional plan opens every feature a plan can gate, so that a
		// 403 below is a refusal of the role, never of the plan.
		if _, err := app.Accounts.Create(context.Background(), account.NewUser{
			Email: email, Password: goodPassword, Role: r, Plan: "professional"}); err != nil {
			t.Fatal(err)
		}
		res := c.PostForm("/login", url.Values{"email": {email}, "password": {goodPassword}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in as %s: %d", r, res.StatusCode)
		}
		clients[r] = c
	}

	routes := web.Routes(app.Server)
	if len(routes) < 20 {
		t.Fatalf("only %d routes in the table", len(routes))
	}
	// Signing out ends the sessions the walk uses, so it goes last.
	sort.SliceStable(routes, func(i, j int) bool {
		return routes[j].Pattern == "POST /logout" && routes[i].Pattern != "POST /logout"
	})
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		path = strings.NewReplacer("{$}", "", "{id}", "0123456789abcdef0123456789abcdef",
			"{format}", "png", "{file}", "app.css").Replace(path)
		for who, c := range clients {
			token := ""
			if method != http.MethodGet {
				token = c.CSRF()
			}
			res := c.Send(method, path, "application/json", []byte(`{}`), token)
			allowed := who.Can(rt.Perm)
			switch {
			case !allowed && who == role.Anonymous:
				if res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusSeeOther {
					t.Errorf("%s as anonymous: status %d, want 401 or a redirect to sign in",
						rt.Pattern, res.StatusCode)
				}
			case !allowed:
				if res.StatusCode != http.StatusForbidden {
					t.Errorf("%s as %s: status %d, want 403", rt.Pattern, who, res.StatusCode)
				}
			case rt.Perm != role.Public && (res.StatusCode == http.StatusForbidden ||
				res.StatusCode == http.StatusUnauthorized):
				t.Errorf("%s as %s: refused with %d although allowed", rt.Pattern, who,
					res.StatusCode)
			}
			if res.StatusCode >= 500 {
				t.Errorf("%s as %s: status %d", rt.Pattern, who, res.StatusCode)
			}
		}
	}
}

func TestRouteWithoutPermissionRefusesToStart(t *testing.T) {
	if err := web.CheckRoutes([]web.RouteInfo{{Pattern: "GET /x", Perm: ""}}); err == nil {
		t.Fatal("a route without a permission was accepted")
	}
	if err := web.CheckRoutes([]web.RouteInfo{{Pattern: "GET /x", Perm: "made_up"}}); err == nil {
		t.Fatal("a route with an unknown permission was accepted")
	}
	if err := web.CheckRoutes([]web.RouteInfo{{Pattern: "/x", Perm: role.Public}}); err == nil {
		t.Fatal("a route without a method was accepted")
	}
}
