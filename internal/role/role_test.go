package role

import "testing"

func TestMatrix(t *testing.T) {
	tests := []struct {
		role Role
		perm Permission
		want bool
	}{
		{Anonymous, Public, true},
		{Anonymous, SignedIn, false},
		{Anonymous, Generate, false},
		{User, Generate, true},
		{User, Gallery, true},
		{User, Train, true},
		{User, ViewUsers, false},
		{User, ManageCredits, false},
		{Admin, ManageUsers, true},
		{Admin, ManageProviders, true},
		{Admin, ConfigureEmail, true},
		{Admin, ManageSecurity, false},
		{Admin, ManageSignIn, false},
		{Admin, GrantAdmin, false},
		{Superadmin, ManageSecurity, true},
		{Superadmin, GrantAdmin, true},
		{Superadmin, Generate, true},
		{Role("root"), Generate, false},
		{Superadmin, Permission("made_up"), false},
	}
	for _, tt := range tests {
		if got := tt.role.Can(tt.perm); got != tt.want {
			t.Errorf("%q.Can(%q) = %v, want %v", tt.role, tt.perm, got, tt.want)
		}
	}
}

func TestHigherRolesHoldLowerPermissions(t *testing.T) {
	for p := range matrix[User] {
		if !Admin.Can(p) || !Superadmin.Can(p) {
			t.Errorf("permission %q of users is missing from a higher role", p)
		}
	}
	for p := range matrix[Admin] {
		if !Superadmin.Can(p) {
			t.Errorf("permission %q of admins is missing from superadmins", p)
		}
	}
}

func TestManages(t *testing.T) {
	tests := []struct {
		actor, target Role
		want          bool
	}{
		{Superadmin, User, true},
		{Superadmin, Admin, true},
		{Superadmin, Superadmin, true},
		{Admin, User, true},
		{Admin, Admin, false},
		{Admin, Superadmin, false},
		{User, User, false},
		{Anonymous, User, false},
		{Superadmin, Role("root"), false},
	}
	for _, tt := range tests {
		if got := tt.actor.Manages(tt.target); got != tt.want {
			t.Errorf("%q.Manages(%q) = %v, want %v", tt.actor, tt.target, got, tt.want)
		}
	}
}

func TestGrants(t *testing.T) {
	tests := []struct {
		actor, target Role
		want          bool
	}{
		{Superadmin, Admin, true},
		{Superadmin, Superadmin, true},
		{Superadmin, User, true},
		{Admin, Admin, false},
		{Admin, Superadmin, false},
		{Admin, User, true},
		{User, User, false},
		{Superadmin, Role("root"), false},
		{Superadmin, Anonymous, false},
	}
	for _, tt := range tests {
		if got := tt.actor.Grants(tt.target); got != tt.want {
			t.Errorf("%q.Grants(%q) = %v, want %v", tt.actor, tt.target, got, tt.want)
		}
	}
}

func TestEveryPermissionIsDescribed(t *testing.T) {
	for p := range matrix[Superadmin] {
		if _, ok := holders[p]; !ok {
			t.Errorf("permission %q has no holder description for refusal pages", p)
		}
	}
	if got := Describe(ManageSecurity); got == "" || got == Describe("made_up") {
		t.Errorf("Describe(ManageSecurity) = %q", got)
	}
}
