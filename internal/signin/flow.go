package signin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sketchmaker/sketchmaker/internal/database"
	"github.com/sketchmaker/sketchmaker/internal/fault"
)

// FlowLifetime is how long a started sign-in waits for the provider's answer.
const FlowLifetime = 10 * time.Minute

// Refusal is why a provider sign-in was refused, for the audit log. People see only the
// safe message of the fault it is wrapped in.
type Refusal struct {
	Reason string // state_mismatch, state_unknown, provider_error, code_exchange_failed,
	// no_id_token, id_token_expired, id_token_invalid, nonce_mismatch, email_unverified,
	// no_email
	Err error
}

func (r *Refusal) Error() string {
	if r.Err != nil {
		return "sign-in refused (" + r.Reason + "): " + r.Err.Error()
	}
	return "sign-in refused (" + r.Reason + ")"
}

func (r *Refusal) Unwrap() error { return r.Err }

// ReasonOf returns the reason of a Refusal in err's chain, or "".
func ReasonOf(err error) string {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Reason
	}
	return ""
}

func refuse(reason string, err error) error {
	return fault.Wrap(fault.Unauthorized, "Signing in with that provider did not work. "+
		"Please try again.", &Refusal{Reason: reason, Err: err})
}

// Claims are what a verified ID token says about the person.
type Claims struct {
	Provider string
	Subject  string
	Email    string
	Name     string
	Next     string // the local path to go to afterwards, as given to Begin
}

// Begin starts a sign-in with provider slug: it stores the flow's nonce and PKCE verifier
// under the hash of a random state, and returns the provider's authorization URL and the
// state, which the caller also keeps in a cookie of the browser, so that the answer can
// only complete a sign-in that this browser started.
func (s *Service) Begin(ctx context.Context, slug, redirectURL, next string) (
	authURL, state string, err error) {
	p, err := s.Provider(ctx, slug)
	if err != nil {
		return "", "", err
	}
	cfg, _, err := s.config(ctx, p, redirectURL)
	if err != nil {
		return "", "", err
	}

	state, nonce, verifier := random(32), random(32), oauth2.GenerateVerifier()
	q := s.o.DB.Rebind(`INSERT INTO oidc_flows (state_hash, provider, nonce, verifier,
		next_path, expires_at) VALUES (?, ?, ?, ?, ?, ?)`)
	_, err = s.o.DB.ExecContext(ctx, q, hash(state), slug, nonce, verifier, clip(next, 512),
		s.o.Now().Add(FlowLifetime).UnixMilli())
	if err != nil {
		return "", "", fmt.Errorf("store sign-in flow: %w", err)
	}
	authURL = cfg.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	return authURL, state, nil
}

type flow struct {
	Provider string `db:"provider"`
	Nonce    string `db:"nonce"`
	Verifier string `db:"verifier"`
	Next     string `db:"next_path"`
}

// Finish completes a sign-in from the provider's answer: the state must match the one the
// browser kept and a flow that is still open (each works once), the code is exchanged with
// the PKCE verifier, and the ID token must verify (signature, issuer, audience, expiry),
// carry the flow's nonce and a verified address. Every refusal wraps a Refusal.
func (s *Service) Finish(ctx context.Context, slug, redirectURL, cookieState, queryState,
	code string) (*Claims, error) {
	if queryState == "" || cookieState == "" ||
		subtle.ConstantTimeCompare([]byte(cookieState), []byte(queryState)) != 1 {
		return nil, refuse("state_mismatch", nil)
	}
	f, err := s.takeFlow(ctx, queryState)
	if err != nil {
		return nil, err
	}
	if f.Provider != slug {
		return nil, refuse("state_mismatch", fmt.Errorf("flow of %s answered at %s",
			f.Provider, slug))
	}
	p, err := s.Provider(ctx, slug)
	if err != nil {
		return nil, err
	}
	cfg, op, err := s.config(ctx, p, redirectURL)
	if err != nil {
		return nil, err
	}

	tok, err := cfg.Exchange(s.o.HTTP(ctx), code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return nil, refuse("code_exchange_failed", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return nil, refuse("no_id_token", nil)
	}
	c, err := s.verify(ctx, op, p, raw, f.Nonce)
	if err != nil {
		return nil, err
	}
	c.Next = f.Next
	return c, nil
}

// takeFlow reads and deletes the flow of state, so that a replayed answer finds nothing.
func (s *Service) takeFlow(ctx context.Context, state string) (*flow, error) {
	var f flow
	q := s.o.DB.Rebind(`SELECT provider, nonce, verifier, next_path FROM oidc_flows
		WHERE state_hash = ? AND expires_at > ?`)
	err := s.o.DB.GetContext(ctx, &f, q, hash(state), s.o.Now().UnixMilli())
	if errors.Is(database.NotFound(err), database.ErrNotFound) {
		return nil, refuse("state_unknown", nil)
	}
	if err != nil {
		return nil, fmt.Errorf("read sign-in flow: %w", err)
	}
	q = s.o.DB.Rebind(`DELETE FROM oidc_flows WHERE state_hash = ?`)
	res, err := s.o.DB.ExecContext(ctx, q, hash(state))
	if err != nil {
		return nil, fmt.Errorf("end sign-in flow: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, refuse("state_unknown", nil) // another request took it first
	}
	return &f, nil
}

// verify checks the ID token and returns its claims.
func (s *Service) verify(ctx context.Context, op *oidc.Provider, p Provider, raw,
	nonce string) (*Claims, error) {
	v := op.Verifier(&oidc.Config{ClientID: p.ClientID, Now: s.o.Now})
	idt, err := v.Verify(s.o.HTTP(ctx), raw)
	var expired *oidc.TokenExpiredError
	if errors.As(err, &expired) {
		return nil, refuse("id_token_expired", err)
	}
	if err != nil {
		return nil, refuse("id_token_invalid", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, refuse("nonce_mismatch", nil)
	}

	var claims struct {
		Email    string `json:"email"`
		Verified any    `json:"email_verified"`
		Name     string `json:"name"`
		Username string `json:"preferred_username"`
	}
	if err := idt.Claims(&claims); err != nil {
		return nil, refuse("id_token_invalid", err)
	}
	if claims.Email == "" {
		return nil, refuse("no_email", nil)
	}
	if !isTrue(claims.Verified) {
		return nil, refuse("email_unverified", nil)
	}
	name := claims.Name
	if name == "" {
		name = claims.Username
	}
	return &Claims{Provider: p.Slug, Subject: idt.Subject, Email: claims.Email,
		Name: name}, nil
}

// isTrue reads email_verified, which some providers send as a string.
func isTrue(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		b, err := strconv.ParseBool(x)
		return err == nil && b
	}
	return false
}

// config returns the OAuth2 configuration of p, discovering its endpoints.
func (s *Service) config(ctx context.Context, p Provider, redirectURL string) (
	*oauth2.Config, *oidc.Provider, error) {
	op, err := s.discover(ctx, p.Issuer)
	if err != nil {
		s.o.Log.Warn("provider discovery failed", "provider", p.Slug, "error", err)
		return nil, nil, fault.Wrap(fault.Unavailable, "The sign-in provider cannot be "+
			"reached right now. Try again in a moment, or sign in another way.",
			&Refusal{Reason: "provider_error", Err: err})
	}
	return &oauth2.Config{
		ClientID: p.ClientID, ClientSecret: p.secret, RedirectURL: redirectURL,
		Endpoint: op.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email", "profile"},
	}, op, nil
}

// discover returns the provider at issuer, reusing its discovery for a while.
func (s *Service) discover(ctx context.Context, issuer string) (*oidc.Provider, error) {
	s.mu.Lock()
	c, ok := s.discovery[issuer]
	s.mu.Unlock()
	if ok && s.o.Now().Sub(c.fetched) < discoveryTTL {
		return c.p, nil
	}

	dctx, cancel := context.WithTimeout(s.o.HTTP(ctx), 15*time.Second)
	defer cancel()
	op, err := oidc.NewProvider(dctx, issuer)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.discovery[issuer] = cached{p: op, fetched: s.o.Now()}
	s.mu.Unlock()
	return op, nil
}

// forget drops the cached discovery of issuer after its configuration changed.
func (s *Service) forget(issuer string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.discovery, issuer)
}

// Sweep deletes sign-in flows that were never finished.
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	q := s.o.DB.Rebind(`DELETE FROM oidc_flows WHERE expires_at < ?`)
	res, err := s.o.DB.ExecContext(ctx, q, s.o.Now().UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("sweep sign-in flows: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

func random(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails: the runtime aborts if the system has no randomness
	return base64.RawURLEncoding.EncodeToString(b)
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
