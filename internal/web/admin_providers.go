package web

import (
	"net/http"
	"strings"

	"github.com/sketchmaker/sketchmaker/internal/catalog"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/vault"
)

func (s *Server) showProvidersPage(w http.ResponseWriter, r *http.Request) {
	provs, err := s.Vault.Providers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin_providers", "Providers", map[string]any{
		"Providers": provs, "CanSeal": s.Vault.CanSeal(),
	})
}

// providerAction runs one action on the provider of the path and returns to the list.
func (s *Server) providerAction(flash string,
	act func(r *http.Request, id string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := readForm(r); err != nil {
			s.fail(w, r, err)
			return
		}
		id := r.PathValue("id")
		if _, err := s.Vault.Provider(r.Context(), id); err != nil {
			s.fail(w, r, err)
			return
		}
		if err := act(r, id); err != nil {
			s.fail(w, r, err)
			return
		}
		s.done(w, r, "/admin/providers#provider-"+id, flash)
	}
}

func (s *Server) configureProvider(r *http.Request, id string) error {
	return s.Admin.ConfigureProvider(r.Context(), actor(r), id, r.PostFormValue("base_url"),
		r.PostFormValue("enabled") == "on")
}

func (s *Server) saveProviderKey(r *http.Request, id string) error {
	return s.Admin.SaveProviderKey(r.Context(), actor(r), id, r.PostFormValue("key"))
}

func (s *Server) removeProviderKey(r *http.Request, id string) error {
	return s.Admin.RemoveProviderKey(r.Context(), actor(r), id)
}

func (s *Server) testProvider(r *http.Request, id string) error {
	_, err := s.Admin.TestProvider(r.Context(), actor(r), id)
	return err
}

// modelRow is one model on the models page.
type modelRow struct {
	catalog.Entry
	Cost  string // "" for the image generation price
	Plans []planBox
}

// planBox is one plan's tick box for a model.
type planBox struct {
	Slug, Name string
	Checked    bool
}

func (s *Server) showModelsPage(w http.ResponseWriter, r *http.Request) {
	entries, err := s.Catalog.Entries(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	plans, err := s.Credits.Plans(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	unit, err := s.Credits.Cost(r.Context(), credit.FeatureImage)
	if err != nil {
		s.fail(w, r, err)
		return
	}

	rows := make([]modelRow, len(entries))
	for i, e := range entries {
		rows[i] = modelRow{Entry: e}
		if e.Choice.Cost > 0 {
			rows[i].Cost = e.Choice.Cost.String()
		}
		for _, p := range plans {
			rows[i].Plans = append(rows[i].Plans, planBox{Slug: p.Slug, Name: p.Name,
				Checked: e.Choice.Allows(p.Slug)})
		}
	}
	s.render(w, r, http.StatusOK, "admin_models", "Models", map[string]any{
		"Models": rows, "Unit": unit.String(),
	})
}

func (s *Server) saveModel(w http.ResponseWriter, r *http.Request) {
	if err := readForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	c := catalog.Choice{ModelID: r.PostFormValue("model"),
		Enabled: r.PostFormValue("enabled") == "on"}
	if v := strings.TrimSpace(r.PostFormValue("cost")); v != "" {
		m, err := parseAmount(v, "cost")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		c.Cost = m
	}

	plans, err := s.Credits.Plans(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Every plan ticked means every plan, including plans created later.
	c.Plans = []string{}
	for _, slug := range r.PostForm["plans"] {
		c.Plans = append(c.Plans, clip(slug, 40))
	}
	if len(c.Plans) >= len(plans) && allTicked(plans, c.Plans) {
		c.Plans = nil
	}

	if err := s.Admin.SaveModel(r.Context(), actor(r), c); err != nil {
		s.fail(w, r, err)
		return
	}
	s.done(w, r, "/admin/models", "admin_model_saved")
}

func allTicked(plans []credit.Plan, ticked []string) bool {
	for _, p := range plans {
		found := false
		for _, t := range ticked {
			found = found || t == p.Slug
		}
		if !found {
			return false
		}
	}
	return true
}

func (s *Server) setDefaultModel(w http.ResponseWriter, r *http.Request) {
	if err := readForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Admin.SetDefaultModel(r.Context(), actor(r), r.PostFormValue("model")); err != nil {
		s.fail(w, r, err)
		return
	}
	s.done(w, r, "/admin/models", "admin_model_saved")
}

// providerView is a provider entry in JSON answers: never the key, only whether one is set
// and its last characters.
func providerView(p vault.Provider) map[string]any {
	return map[string]any{
		"id": p.ID, "name": p.Name, "kind": p.Kind, "enabled": p.Enabled,
		"configured": p.Configured(), "key_set": p.KeySet(), "key_last4": p.KeyLast4,
		"check": p.CheckStatus, "check_message": p.CheckMessage,
		"checked_at": isoTime(p.CheckedAt),
	}
}
