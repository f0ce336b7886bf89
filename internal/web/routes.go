package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/sketchmaker/sketchmaker/internal/guard"
	"github.com/sketchmaker/sketchmaker/internal/role"
)

// route is one row of the route table: a method and path pattern, the permission it needs,
// whether it answers in JSON, the rate limit that counts its requests (a guard limit name,
// or unlimited), and its handler.
type route struct {
	pattern string
	perm    role.Permission
	api     bool
	limit   string
	handler http.HandlerFunc
}

// tokenFiles are the routes that answer files rather than JSON and still take a personal
// API token (apitokens.go): a script that lists its images or uploads fetches them next,
// by the URLs the JSON answers give.
var tokenFiles = map[string]bool{"GET /download/{id}/{format}": true,
	"GET /images/{id}/thumb": true, "GET /uploads/{id}/thumb": true}

// routes is every route SketchMaker serves, with the permission each needs. A route without
// a known permission stops the server from starting.
func (s *Server) routes() []route {
	return []route{
		// Public pages and operations.
		{"GET /{$}", role.Public, false, unlimited, s.showLandingPage},
		{"GET /pricing", role.Public, false, unlimited, s.showPricingPage},
		{"GET /healthz", role.Public, true, unlimited, s.healthz},
		{"GET /readyz", role.Public, true, unlimited, s.readyz},
		{"GET /static/{file}", role.Public, false, unlimited, s.serveStatic},

		// Signing in and out, and first run.
		{"GET /login", role.Public, false, unlimited, s.showLoginPage},
		{"POST /login", role.Public, false, guard.LoginAttempts, s.login},
		{"GET /register", role.Public, false, unlimited, s.showRegisterPage},
		{"POST /register", role.Public, false, guard.LoginAttempts, s.register},
		{"POST /logout", role.SignedIn, false, unlimited, s.logout},
		{"GET /setup", role.Public, false, unlimited, s.showSetupPage},
		{"POST /setup", role.Public, false, guard.LoginAttempts, s.setup},

		// The studio.
		{"GET /dashboard", role.Generate, false, unlimited, s.showDashboardPage},
		{"POST /generate/image", role.Generate, true, guard.ImageGeneration, s.generateImage},
		{"GET /api/jobs/{id}", role.Generate, true, guard.APICalls, s.getJob},
		{"GET /api/jobs/{id}/events", role.Generate, true, guard.APICalls, s.jobEvents},
		{"POST /api/jobs/{id}/cancel", role.Generate, true, guard.APICalls, s.cancelJob},

		// Providers: prompt enhancement, and FAL's signed webhook, which is public and
		// exempt from CSRF (enhance.go) (issue 5).
		{"POST /generate/prompt", role.Generate, true, guard.PromptEnhancement,
			s.enhancePrompt},
		{"POST " + falWebhookPath, role.Public, true, unlimited, s.falWebhook},

		// Uploads and style training (training.go) (issue 6). RATE_LIMIT_UPLOADS counts
		// uploads, whose cleaning is the dearest work a request can ask for;
		// RATE_LIMIT_TRAINING counts POST /api/training/start.
		{"GET /training", role.Train, false, unlimited, s.showTrainingPage},
		{"POST /api/training/upload", role.Train, true, guard.Uploads, s.uploadTraining},
		{"POST /api/training/start", role.Train, true, guard.Training, s.startTraining},
		{"GET /api/training/status/{id}", role.Train, true, guard.APICalls, s.trainingStatus},
		{"GET /api/training/styles", role.Train, true, guard.APICalls, s.trainingStyles},
		{"GET /api/training/weights/{id}", role.Train, true, guard.APICalls,
			s.trainingWeights},
		{"GET /api/training/config/{id}", role.Train, true, guard.APICalls, s.trainingConfig},
		{"GET /uploads/{id}/thumb", role.Train, false, unlimited, s.serveUploadThumb},

		// The gallery.
		{"GET /gallery", role.Gallery, false, unlimited, s.showGalleryPage},
		{"GET /gallery/{id}", role.Gallery, false, unlimited, s.showImagePage},
		{"POST /gallery/{id}/delete", role.Gallery, false, unlimited, s.deleteImage},
		{"DELETE /api/gallery/{id}", role.Gallery, true, guard.APICalls, s.deleteImageAPI},
		{"GET /api/gallery", role.Gallery, true, guard.APICalls, s.listGalleryAPI},
		{"GET /images/{id}/thumb", role.Gallery, false, unlimited, s.serveThumb},
		{"GET /download/{id}/{format}", role.Gallery, false, guard.APICalls, s.download},

		// Share links (share.go): the owner opens and ends them; anyone with one sees the
		// image.
		{"POST /gallery/{id}/share", role.Gallery, false, unlimited, s.shareImage},
		{"POST /gallery/{id}/unshare", role.Gallery, false, unlimited, s.unshareImage},
		{"POST /api/gallery/{id}/share", role.Gallery, true, guard.APICalls, s.shareImageAPI},
		{"DELETE /api/gallery/{id}/share", role.Gallery, true, guard.APICalls,
			s.unshareImageAPI},
		{"GET /s/{token}", role.Public, false, unlimited, s.showSharedPage},
		{"GET /s/{token}/image", role.Public, false, unlimited, s.serveSharedImage},

		// The account.
		{"GET /subscription", role.SignedIn, false, unlimited, s.showSubscriptionPage},
		{"GET /settings", role.SignedIn, false, unlimited, s.showSettingsPage},
		{"GET /api/user/profile", role.SignedIn, true, guard.APICalls, s.profileAPI},
		{"GET /api/user/usage", role.SignedIn, true, guard.APICalls, s.usageAPI},

		// Accounts complete: password reset, email confirmation, two-factor and provider
		// sign-in, the account settings, and the superadmin's outbox (issue 3).
		{"GET /forgot-password", role.Public, false, unlimited, s.showForgotPage},
		{"POST /forgot-password", role.Public, false, guard.PasswordReset, s.forgotPassword},
		{"GET /reset-password", role.Public, false, unlimited, s.showResetPage},
		{"POST /reset-password", role.Public, false, guard.LoginAttempts, s.resetPassword},
		{"GET /verify-email", role.Public, false, unlimited, s.showVerifyPage},
		{"POST /verify-email", role.Public, false, unlimited, s.verifyEmail},
		{"GET /login/two-factor", role.Public, false, unlimited, s.showTwoFactorLoginPage},
		{"POST /login/two-factor", role.Public, false, guard.LoginAttempts, s.twoFactorLogin},
		{"GET /auth/google/login", role.Public, false, unlimited, s.googleLogin},
		{"GET /auth/google/callback", role.Public, false, unlimited, s.googleCallback},
		{"GET /auth/oidc/{provider}/login", role.Public, false, unlimited, s.oidcLogin},
		{"GET /auth/oidc/{provider}/callback", role.Public, false, unlimited, s.oidcCallback},
		{"POST /settings/verify/resend", role.SignedIn, false, guard.PasswordReset,
			s.resendVerification},
		{"POST /settings/profile", role.SignedIn, false, unlimited, s.saveProfile},
		{"POST /settings/email", role.SignedIn, false, guard.PasswordReset, s.changeEmail},
		{"POST /settings/password", role.SignedIn, false, guard.LoginAttempts,
			s.changePassword},
		{"POST /settings/sessions/{id}/revoke", role.SignedIn, false, unlimited,
			s.revokeSession},
		{"POST /settings/sessions/revoke-others", role.SignedIn, false, unlimited,
			s.revokeOtherSessions},
		{"POST /settings/api-tokens", role.SignedIn, false, unlimited, s.createAPIToken},
		{"POST /settings/api-tokens/{id}/revoke", role.SignedIn, false, unlimited,
			s.revokeAPIToken},
		{"POST /settings/identities/{provider}/unlink", role.SignedIn, false, unlimited,
			s.unlinkIdentity},
		{"POST /settings/delete", role.SignedIn, false, guard.LoginAttempts, s.deleteAccount},
		{"GET /settings/two-factor", role.SignedIn, false, unlimited, s.showTwoFactorPage},
		{"POST /settings/two-factor/setup", role.SignedIn, false, unlimited,
			s.beginTwoFactor},
		{"POST /settings/two-factor/enable", role.SignedIn, false, guard.LoginAttempts,
			s.enableTwoFactor},
		{"POST /settings/two-factor/disable", role.SignedIn, false, guard.LoginAttempts,
			s.disableTwoFactor},
		{"POST /settings/two-factor/recovery-codes", role.SignedIn, false,
			guard.LoginAttempts, s.renewRecoveryCodes},
		{"GET /admin/outbox", role.ManageSecurity, false, unlimited, s.showOutboxPage},
		{"GET /admin/outbox/{id}", role.ManageSecurity, false, unlimited,
			s.showOutboxMessagePage},

		// Abuse protection, audit and monitoring (issue 7).
		{"GET /metrics", role.Public, false, unlimited, s.serveMetrics},
		{"GET /admin/security/blocks", role.Monitor, false, unlimited,
			s.showSecurityBlocksPage},
		{"GET /admin/security/review", role.Monitor, false, unlimited,
			s.showSecurityReviewPage},
		{"GET /admin/audit", role.Monitor, false, unlimited, s.showAuditPage},
		{"GET /admin/api/blocks", role.Monitor, true, unlimited, s.listBlocksAPI},
		{"POST /admin/api/blocks/{ip}/unblock", role.ManageSecurity, true, unlimited,
			s.unblockAPI},
		{"GET /admin/api/allowlist", role.Monitor, true, unlimited, s.allowListAPI},
		{"POST /admin/api/allowlist", role.ManageSecurity, true, unlimited,
			s.saveAllowListAPI},
		{"GET /admin/api/limits", role.Monitor, true, unlimited, s.limitsAPI},
		{"POST /admin/api/limits", role.ManageSecurity, true, unlimited, s.saveLimitAPI},
		{"GET /admin/api/review", role.Monitor, true, unlimited, s.reviewAPI},
		{"POST /admin/api/review/{id}", role.Monitor, true, unlimited, s.decideReviewAPI},
		{"GET /admin/api/moderation", role.Monitor, true, unlimited, s.moderationAPI},
		{"POST /admin/api/moderation", role.ManageSecurity, true, unlimited,
			s.saveModerationAPI},
		{"GET /admin/api/audit", role.Monitor, true, unlimited, s.auditAPI},
		{"GET /admin/api/audit/export", role.Monitor, true, unlimited, s.exportAuditAPI},
		{"GET /admin/api/alerts", role.Monitor, true, unlimited, s.alertsAPI},
		{"POST /admin/api/alerts/{id}/ack", role.Monitor, true, unlimited, s.ackAlertAPI},

		// The admin panel: users, plans and credits, providers and models, settings,
		// reports, and the admin JSON API (issue 4).
		{"GET /admin", role.Monitor, false, unlimited, s.showAdminPage},
		{"GET /admin/users", role.ViewUsers, false, unlimited, s.showAdminUsersPage},
		{"GET /admin/users/export.csv", role.ViewUsers, false, unlimited, s.exportUsersCSV},
		{"GET /admin/users/new", role.ManageUsers, false, unlimited, s.showNewUserPage},
		{"POST /admin/users", role.ManageUsers, false, unlimited, s.createUser},
		{"POST /admin/users/approve", role.ManageUsers, false, unlimited, s.bulkApprove},
		{"GET /admin/users/{id}", role.ViewUsers, false, unlimited, s.showAdminUserPage},
		{"POST /admin/users/{id}/role", role.GrantAdmin, false, unlimited,
			s.userAction("admin_role_changed", s.changeUserRole)},
		{"POST /admin/users/{id}/approve", role.ManageUsers, false, unlimited,
			s.userAction("admin_approved", s.approveUser)},
		{"POST /admin/users/{id}/deactivate", role.ManageUsers, false, unlimited,
			s.userAction("admin_deactivated", s.deactivateUser)},
		{"POST /admin/users/{id}/reactivate", role.ManageUsers, false, unlimited,
			s.userAction("admin_reactivated", s.reactivateUser)},
		{"POST /admin/users/{id}/unlock", role.ManageUsers, false, unlimited,
			s.userAction("admin_unlocked", s.unlockUser)},
		{"POST /admin/users/{id}/sessions/revoke", role.ManageUsers, false, unlimited,
			s.userAction("admin_sessions_revoked", s.revokeUserSessions)},
		{"POST /admin/users/{id}/delete", role.ManageUsers, false, unlimited,
			s.userAction("admin_deleted", s.deleteUser)},
		{"POST /admin/users/{id}/credits", role.ManageCredits, false, unlimited,
			s.userAction("admin_credits_changed", s.changeUserCredits)},
		{"POST /admin/users/{id}/plan", role.ManageCredits, false, unlimited,
			s.userAction("admin_plan_assigned", s.assignUserPlan)},
		{"GET /admin/plans", role.ManageCredits, false, unlimited, s.showPlansPage},
		{"POST /admin/plans", role.ManageCredits, false, unlimited, s.createPlan},
		{"GET /admin/plans/{id}", role.ManageCredits, false, unlimited, s.showPlanPage},
		{"POST /admin/plans/{id}", role.ManageCredits, false, unlimited, s.updatePlan},
		{"POST /admin/plans/{id}/active", role.ManageCredits, false, unlimited,
			s.setPlanActive},
		{"GET /admin/credits/costs", role.ManageCredits, false, unlimited, s.showCostsPage},
		{"POST /admin/credits/costs", role.ManageCredits, false, unlimited, s.saveCosts},
		{"GET /admin/reports", role.Monitor, false, unlimited, s.showReportsPage},
		{"GET /admin/reports/export.csv", role.Monitor, false, unlimited, s.exportReportCSV},
		{"GET /admin/providers", role.ManageProviders, false, unlimited, s.showProvidersPage},
		{"POST /admin/providers/{id}", role.ManageProviders, false, unlimited,
			s.providerAction("admin_provider_saved", s.configureProvider)},
		{"POST /admin/providers/{id}/key", role.ManageProviders, false, unlimited,
			s.providerAction("admin_key_saved", s.saveProviderKey)},
		{"POST /admin/providers/{id}/key/delete", role.ManageProviders, false, unlimited,
			s.providerAction("admin_key_removed", s.removeProviderKey)},
		{"POST /admin/providers/{id}/test", role.ManageProviders, false, unlimited,
			s.providerAction("admin_provider_tested", s.testProvider)},
		{"GET /admin/models", role.ManageProviders, false, unlimited, s.showModelsPage},
		{"POST /admin/models", role.ManageProviders, false, unlimited, s.saveModel},
		{"POST /admin/models/default", role.ManageProviders, false, unlimited,
			s.setDefaultModel},
		{"GET /admin/settings/email", role.ConfigureEmail, false, unlimited,
			s.showEmailSettingsPage},
		{"POST /admin/settings/email", role.ConfigureEmail, false, unlimited,
			s.saveEmailSettings},
		{"POST /admin/settings/email/password/delete", role.ConfigureEmail, false, unlimited,
			s.clearEmailPassword},
		{"POST /admin/settings/email/test", role.ConfigureEmail, false, unlimited,
			s.sendTestMail},
		{"GET /admin/settings/sign-in", role.ManageSignIn, false, unlimited,
			s.showSignInSettingsPage},
		{"POST /admin/settings/sign-in", role.ManageSignIn, false, unlimited,
			s.saveSignInSettings},
		{"GET /admin/settings/security", role.ManageSecurity, false, unlimited,
			s.showSecuritySettingsPage},
		{"POST /admin/settings/security", role.ManageSecurity, false, unlimited,
			s.saveSecuritySettings},
		{"GET /admin/api/status", role.Monitor, true, unlimited, s.adminStatusAPI},
		{"GET /admin/api/users", role.ViewUsers, true, unlimited, s.adminUsersAPI},
		{"POST /admin/api/users/{id}/credits", role.ManageCredits, true, unlimited,
			s.adminCreditsAPI},
		{"POST /admin/api/users/{id}/plan", role.ManageCredits, true, unlimited,
			s.adminPlanAPI},
		{"GET /admin/api/metrics", role.Monitor, true, unlimited, s.adminMetricsAPI},
	}
}

// RouteInfo describes one route of the table, for tests and documentation.
type RouteInfo struct {
	Pattern string
	Perm    role.Permission
	API     bool
	Limit   string // the guard limit counting its requests, or ""
}

// Routes returns the route table of s.
func Routes(s *Server) []RouteInfo {
	var out []RouteInfo
	for _, rt := range s.routes() {
		out = append(out, RouteInfo{Pattern: rt.pattern, Perm: rt.perm, API: rt.api,
			Limit: rt.limit})
	}
	return out
}

// CheckRoutes refuses a table in which a route has no method, no known permission or an
// unknown rate limit.
func CheckRoutes(routes []RouteInfo) error {
	for _, rt := range routes {
		if rt.Perm == "" || !role.Known(rt.Perm) {
			return fmt.Errorf("route %q declares no known permission", rt.Pattern)
		}
		if rt.Limit != unlimited && !guard.Known(rt.Limit) {
			return fmt.Errorf("route %q names an unknown rate limit %q", rt.Pattern, rt.Limit)
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
		infos = append(infos, RouteInfo{Pattern: rt.pattern, Perm: rt.perm, API: rt.api,
			Limit: rt.limit})
	}
	if err := CheckRoutes(infos); err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	s.limits, s.tokenRoutes = map[string]string{}, map[string]bool{}
	for _, rt := range routes {
		mux.Handle(rt.pattern, s.authorize(rt))
		if rt.limit != unlimited {
			s.limits[rt.pattern] = rt.limit
		}
		if (rt.api || tokenFiles[rt.pattern]) && rt.perm != role.Public {
			s.tokenRoutes[rt.pattern] = true
		}
	}
	mux.HandleFunc("/", s.unrouted)
	return mux, nil
}
