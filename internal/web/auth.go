package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/sketchmaker/sketchmaker/internal/account"
	"github.com/sketchmaker/sketchmaker/internal/audit"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/guard"
)

// credentials are what the sign-in and registration forms send, as a form or as JSON.
type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Username string `json:"username"`
	Next     string `json:"next"`
}

func readCredentials(r *http.Request) (credentials, error) {
	var c credentials
	if isJSON(r) {
		err := decodeJSON(r, &c)
		return c, err
	}
	if !isForm(r) {
		return c, fault.New(fault.Unsupported, "Send the form, or JSON with "+
			"Content-Type: application/json.")
	}
	c.Email, c.Password = r.PostFormValue("email"), r.PostFormValue("password")
	c.Username, c.Next = r.PostFormValue("username"), r.PostFormValue("next")
	return c, nil
}

// localPath returns next when it is a path on this site, and /dashboard otherwise, so a
// crafted link cannot send someone elsewhere after sign-in.
func localPath(next string) string {
	const home = "/dashboard"
	if next == "" || len(next) > 512 || !strings.HasPrefix(next, "/") ||
		strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return home
	}
	if dec, err := url.PathUnescape(u.Path); err != nil || strings.HasPrefix(dec, "//") ||
		strings.Contains(dec, "\\") {
		return home
	}
	return next
}

// nextPath is localPath for the redirect that ends a sign-in: next must also name a page,
// something a browser can open with GET. Sent to POST /logout, say, the person would land
// on a 405 right after signing in.
func (s *Server) nextPath(next string) string {
	p := localPath(next)
	req, err := http.NewRequest(http.MethodGet, p, nil)
	if err != nil {
		return "/dashboard"
	}
	if _, pattern := s.mux.Handler(req); pattern == "" || pattern == "/" {
		return "/dashboard"
	}
	return p
}

func (s *Server) showLoginPage(w http.ResponseWriter, r *http.Request) {
	if state(r).user != nil {
		http.Redirect(w, r, s.nextPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", "Sign in",
		s.loginData(r, localPath(r.URL.Query().Get("next")), nil))
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	c, err := readCredentials(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}

	if !s.methods(r).Password {
		s.fail(w, r, errPasswordOff)
		return
	}

	// Guessing at one account is limited per account and client address, before the
	// password is hashed.
	if !s.admitAccount(w, r, guard.LoginAttempts, c.Email) {
		return
	}
	u, failure, err := s.Accounts.Authenticate(r.Context(), c.Email, c.Password)
	if failure != nil {
		s.recordLoginFailure(r, c.Email, failure)
	}
	if err != nil {
		s.loginFailed(w, r, c, err)
		return
	}
	s.forgetAccount(r, guard.LoginAttempts, c.Email)
	s.signedIn(w, r, u, "password", c.Next)
}

// loginFailed answers a failed sign-in the same way whatever the reason.
func (s *Server) loginFailed(w http.ResponseWriter, r *http.Request, c credentials,
	err error) {
	if isJSON(r) || fault.As(err) == nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusUnauthorized, "login", "Sign in", s.loginData(r,
		localPath(c.Next), map[string]any{"Email": c.Email, "Error": fault.As(err).Message}))
}

// startSession signs u in with a new session id, ending the anonymous one.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u *account.User) error {
	st := state(r)
	if st.token != "" {
		_ = s.Sessions.Delete(r.Context(), st.token)
	}
	tok, sess, err := s.Sessions.Create(r.Context(), u.ID, st.ip, r.UserAgent())
	if err != nil {
		return err
	}
	s.setCookie(w, r, sessionCookie, tok, 0)
	s.setCookie(w, r, anonCookie, "", -1)
	st.user, st.sess, st.token = u, sess, tok
	return nil
}

// endSession removes the session cookie and asks the browser to drop what it cached for
// this site: thumbnails and images are cached privately for a day, and on a shared
// computer the next person could otherwise still see them.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	s.setCookie(w, r, sessionCookie, "", -1)
	w.Header().Set("Clear-Site-Data", `"cache"`)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	if err := s.Sessions.Delete(r.Context(), st.token); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, audit.Event{Type: audit.Logout, UserID: st.user.ID})
	s.endSession(w, r)
	if st.api || isJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"success": true})
		return
	}
	setFlash(w, "signed_out")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) showRegisterPage(w http.ResponseWriter, r *http.Request) {
	if state(r).user != nil {
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "register", "Create an account", map[string]any{})
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	c, err := readCredentials(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}

	if !s.methods(r).Password {
		s.fail(w, r, errPasswordOff)
		return
	}

	// Only the fields of a registration are read; role, plan and credits sent by a client
	// are ignored.
	reg, err := s.Accounts.Register(acctx(r), account.NewUser{
		Email: c.Email, Password: c.Password, Username: c.Username,
	})
	if err != nil {
		s.formFailed(w, r, "register", "Create an account", err, map[string]any{
			"Email": c.Email, "Username": c.Username,
		})
		return
	}
	if reg.User != nil {
		s.audit(r, audit.Event{Type: audit.Registration, UserID: reg.User.ID,
			Details: map[string]any{"status": reg.User.Status}})
	}
	if !reg.SignIn {
		s.registeredQuietly(w, r, reg)
		return
	}

	u := reg.User
	if err := s.startSession(w, r, u); err != nil {
		s.fail(w, r, err)
		return
	}
	if isJSON(r) {
		writeJSON(w, http.StatusCreated, map[string]any{"success": true,
			"user": profileOf(u)})
		return
	}
	setFlash(w, "registered")
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
}

// formFailed shows a form again with the error of a refused submission, or answers JSON.
func (s *Server) formFailed(w http.ResponseWriter, r *http.Request, name, title string,
	err error, data map[string]any) {
	fe := fault.As(err)
	if isJSON(r) || fe == nil || fe.Kind == fault.Internal {
		s.fail(w, r, err)
		return
	}
	data["Error"], data["Field"] = fe.Message, fe.Field
	s.render(w, r, statusOf[fe.Kind], name, title, data)
}

func (s *Server) showSetupPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if err := s.Accounts.CheckSetupToken(r.Context(), token); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "setup", "Set up SketchMaker", map[string]any{
		"Token": token,
	})
}

func (s *Server) setup(w http.ResponseWriter, r *http.Request) {
	token := r.PostFormValue("token")
	c, err := readCredentials(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := s.Accounts.CompleteSetup(r.Context(), token, account.NewUser{
		Email: c.Email, Password: c.Password, Username: c.Username,
	})
	if err != nil {
		s.formFailed(w, r, "setup", "Set up SketchMaker", err, map[string]any{
			"Token": token, "Email": c.Email, "Username": c.Username,
		})
		return
	}
	s.audit(r, audit.Event{Type: audit.SetupCompleted, UserID: u.ID})
	if err := s.startSession(w, r, u); err != nil {
		s.fail(w, r, err)
		return
	}
	setFlash(w, "setup_done")
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
}
