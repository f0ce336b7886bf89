// Package role holds SketchMaker's roles and the permission matrix of the security guide.
// It is the one place that says who may do what; routes name a permission, never a role.
package role

// Role is a user's place in the hierarchy.
type Role string

// The roles, lowest first.
const (
	Anonymous  Role = ""
	User       Role = "user"
	Admin      Role = "admin"
	Superadmin Role = "superadmin"
)

// Valid reports whether r is a role a user can hold.
func (r Role) Valid() bool {
	return r == User || r == Admin || r == Superadmin
}

// Rank orders the roles: anonymous 0, user 1, admin 2, superadmin 3.
func (r Role) Rank() int {
	switch r {
	case User:
		return 1
	case Admin:
		return 2
	case Superadmin:
		return 3
	}
	return 0
}

// Permission is something a route or action requires.
type Permission string

// The permissions. Public and SignedIn are not in the matrix: Public needs nothing and
// SignedIn needs any role.
const (
	Public          Permission = "public"
	SignedIn        Permission = "signed_in"
	Generate        Permission = "generate"
	Gallery         Permission = "gallery"
	Train           Permission = "train"
	ViewUsers       Permission = "view_users"
	ManageUsers     Permission = "manage_users"
	ManageCredits   Permission = "manage_credits"
	ManageProviders Permission = "manage_providers"
	Monitor         Permission = "monitor"
	ConfigureEmail  Permission = "configure_email"
	ManageSecurity  Permission = "manage_security"
	ManageSignIn    Permission = "manage_sign_in"
	GrantAdmin      Permission = "grant_admin"
)

var userPerms = []Permission{Generate, Gallery, Train}

var adminPerms = append(append([]Permission{}, userPerms...),
	ViewUsers, ManageUsers, ManageCredits, ManageProviders, Monitor, ConfigureEmail)

var superadminPerms = append(append([]Permission{}, adminPerms...),
	ManageSecurity, ManageSignIn, GrantAdmin)

// matrix is the guide's permission matrix.
var matrix = map[Role]map[Permission]bool{
	User:       set(userPerms),
	Admin:      set(adminPerms),
	Superadmin: set(superadminPerms),
}

func set(ps []Permission) map[Permission]bool {
	m := make(map[Permission]bool, len(ps))
	for _, p := range ps {
		m[p] = true
	}
	return m
}

// Can reports whether a holder of role r has permission p.
func (r Role) Can(p Permission) bool {
	switch p {
	case Public:
		return true
	case SignedIn:
		return r.Valid()
	}
	return matrix[r][p]
}

// Known reports whether p is a permission this package defines.
func Known(p Permission) bool {
	if p == Public || p == SignedIn {
		return true
	}
	return matrix[Superadmin][p]
}

// All returns every role a user can hold, lowest first.
func All() []Role { return []Role{User, Admin, Superadmin} }

// Manages reports whether a holder of role r may act on the account of someone holding
// target: an admin manages plain users only, a superadmin manages every account. Nobody
// below admin manages anyone. Acting on one's own account is a separate rule, left to the
// caller, since the role alone cannot tell two people apart.
func (r Role) Manages(target Role) bool {
	switch r {
	case Superadmin:
		return target.Valid()
	case Admin:
		return target == User
	}
	return false
}

// Grants reports whether a holder of role r may give or take away role target: only a
// superadmin changes who is an admin or a superadmin, and only to a role that exists.
func (r Role) Grants(target Role) bool {
	if !target.Valid() {
		return false
	}
	if target == User {
		return r.Can(ManageUsers)
	}
	return r.Can(GrantAdmin)
}

// holders says who holds each permission, for the page that explains a refusal.
var holders = map[Permission]string{
	Generate:        "signed-in users",
	Gallery:         "signed-in users",
	Train:           "signed-in users",
	ViewUsers:       "administrators",
	ManageUsers:     "administrators",
	ManageCredits:   "administrators",
	ManageProviders: "administrators",
	Monitor:         "administrators",
	ConfigureEmail:  "administrators",
	ManageSecurity:  "the superadmin",
	ManageSignIn:    "the superadmin",
	GrantAdmin:      "the superadmin",
}

// Describe explains in a sentence who may use what p protects, for refusal pages.
func Describe(p Permission) string {
	who, ok := holders[p]
	if !ok {
		return "You do not have permission to open this page."
	}
	return "This page is only for " + who + ". If you need it, ask the superadmin of " +
		"this instance to change your role."
}
