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
