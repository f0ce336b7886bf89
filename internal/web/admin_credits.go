package web

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sketchmaker/sketchmaker/internal/chart"
	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/generation"
	"github.com/sketchmaker/sketchmaker/internal/report"
)

// errNoPlan answers a plan id that is not a number or names no plan.
var errNoPlan = fault.New(fault.NotFound, "There is no such plan.")

// planRow is one plan on the plans page.
type planRow struct {
	credit.Plan
	Subscribers int
	API         bool
	Styles      bool
}

func (s *Server) showPlansPage(w http.ResponseWriter, r *http.Request) {
	plans, err := s.Credits.Plans(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	subs, err := s.Credits.Subscribers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows := make([]planRow, len(plans))
	for i, p := range plans {
		rows[i] = planRow{Plan: p, Subscribers: subs[p.ID], API: p.HasFeature(credit.FeatureAPI),
			Styles: p.HasFeature(credit.FeatureStyles)}
	}
	s.render(w, r, http.StatusOK, "admin_plans", "Plans", map[string]any{"Plans": rows})
}

// planInput reads the plan form. Prices are typed in the currency, such as 19.00.
func planInput(r *http.Request) (credit.PlanInput, error) {
	in := credit.PlanInput{Slug: r.PostFormValue("slug"), Name: r.PostFormValue("name"),
		Features: strings.Split(strings.ReplaceAll(r.PostFormValue("features"), "\r", ""), "\n")}
	var err error
	if in.MonthlyCredits, err = parseAmount(r.PostFormValue("monthly_credits"),
		"monthly_credits"); err != nil {
		return in, err
	}
	price, err := parseAmount(orZero(r.PostFormValue("price")), "price")
	if err != nil || price%10 != 0 {
		return in, fault.Field("price", "Write the price with at most two decimals, such "+
			"as 19 or 19.90.")
	}
	in.PriceCents = int(price / 10)
	if in.SortOrder, err = strconv.Atoi(orZero(r.PostFormValue("sort_order"))); err != nil {
		return in, fault.Field("sort_order", "The position must be a whole number.")
	}

	// The capabilities come from their checkboxes, whatever the text lists.
	in.Features = slices.DeleteFunc(in.Features, isGated)
	for _, f := range credit.GatedFeatures() {
		if r.PostFormValue(gateField[f]) == "on" {
			in.Features = append(in.Features, f)
		}
	}
	return in, nil
}

// gateField is the checkbox of each capability a plan may include.
var gateField = map[string]string{credit.FeatureAPI: "api_access",
	credit.FeatureStyles: "style_training"}

// isGated reports whether a feature text names a capability rather than describing it.
func isGated(f string) bool {
	for _, g := range credit.GatedFeatures() {
		if strings.EqualFold(strings.TrimSpace(f), g) {
			return true
		}
	}
	return false
}

func orZero(s string) string {
	if strings.TrimSpace(s) == "" {
		return "0"
	}
	return s
}

func (s *Server) createPlan(w http.ResponseWriter, r *http.Request) {
	if err := readForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := planInput(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.Admin.CreatePlan(r.Context(), actor(r), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.done(w, r, "/admin/plans/"+strconv.FormatInt(p.ID, 10), "admin_plan_saved")
}

// modelChoice is one model's box on the plan page.
type modelChoice struct {
	ID, Name  string
	Available bool
	Allowed   bool
}

func (s *Server) showPlanPage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, errNoPlan)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.Credits.PlanByID(r.Context(), id)
	if err != nil {
		s.fail(w, r, errNoPlan)
		return
	}
	allowed, err := s.Catalog.PlanModels(r.Context(), p.Slug)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var models []modelChoice
	for _, m := range generation.Catalog() {
		models = append(models, modelChoice{ID: m.ID, Name: m.Name, Available: m.Available,
			Allowed: slices.Contains(allowed, m.ID)})
	}
	var features []string
	for _, f := range p.Features {
		if !isGated(f) {
			features = append(features, f)
		}
	}
	s.render(w, r, http.StatusOK, "admin_plan", "Plan "+p.Name, map[string]any{
		"Plan": p, "Features": strings.Join(features, "\n"),
		"API": p.HasFeature(credit.FeatureAPI), "Styles": p.HasFeature(credit.FeatureStyles),
		"Models": models,
		"Price":  credit.Milli(p.PriceCents * 10).String(),
	})
}

func (s *Server) updatePlan(w http.ResponseWriter, r *http.Request) {
	if err := readForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := pathID(r, errNoPlan)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := planInput(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.Admin.UpdatePlan(r.Context(), actor(r), id, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Admin.SetPlanModels(r.Context(), actor(r), p.Slug, r.PostForm["models"]); err != nil {
		s.fail(w, r, err)
		return
	}
	s.done(w, r, "/admin/plans/"+strconv.FormatInt(id, 10), "admin_plan_saved")
}

func (s *Server) setPlanActive(w http.ResponseWriter, r *http.Request) {
	if err := readForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := pathID(r, errNoPlan)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	active := r.PostFormValue("active") == "true"
	if err := s.Admin.SetPlanActive(r.Context(), actor(r), id, active); err != nil {
		s.fail(w, r, err)
		return
	}
	s.done(w, r, "/admin/plans", "admin_plan_saved")
}

// costRow is one feature on the costs page.
type costRow struct {
	Feature, Label string
	Current        credit.Milli
	Proposed       string
}

var featureLabels = map[string]string{
	credit.FeatureImage:    "One generated image",
	credit.FeaturePrompt:   "One prompt enhancement",
	credit.FeatureTraining: "One style training",
}

func (s *Server) showCostsPage(w http.ResponseWriter, r *http.Request) {
	s.renderCosts(w, r, r.URL.Query())
}

// renderCosts shows the prices and, for the proposed prices in vals, what each plan's
// credits would buy. Nothing is saved.
func (s *Server) renderCosts(w http.ResponseWriter, r *http.Request, vals url.Values) {
	current, err := s.Credits.Costs(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}

	// A preview reads the proposed prices from the query string and saves nothing.
	proposed := map[string]credit.Milli{}
	var rows []costRow
	var problem string
	for _, f := range credit.Features() {
		row := costRow{Feature: f, Label: featureLabels[f], Current: current[f],
			Proposed: current[f].String()}
		if v := vals.Get(f); v != "" && v != current[f].String() {
			row.Proposed = clip(v, 40)
			m, err := parseAmount(v, f)
			if err == nil {
				err = costFault(f, credit.ValidCost(m))
			}
			if err != nil {
				problem = fault.As(err).Message
			} else {
				proposed[f] = m
			}
		}
		rows = append(rows, row)
	}
	impact, err := s.Admin.Preview(r.Context(), proposed)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin_costs", "Costs", map[string]any{
		"Rows": rows, "Impact": impact, "Features": credit.Features(),
		"Previewing": len(proposed) > 0, "Problem": problem,
	})
}

// costFault gives a price refusal its field.
func costFault(feature string, err error) error {
	if err == nil {
		return nil
	}
	return fault.Field(feature, "A price must be from 0.1 to 1000 credits.")
}

func (s *Server) saveCosts(w http.ResponseWriter, r *http.Request) {
	if err := readForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if r.PostFormValue("do") == "preview" {
		s.renderCosts(w, r, r.PostForm)
		return
	}
	for _, f := range credit.Features() {
		v := r.PostFormValue(f)
		if v == "" {
			continue
		}
		m, err := parseAmount(v, f)
		if err == nil {
			err = costFault(f, credit.ValidCost(m))
		}
		if err == nil {
			err = s.Admin.SetCost(r.Context(), actor(r), f, m)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.done(w, r, "/admin/credits/costs", "admin_costs_saved")
}

// reportPeriod reads the number of days a report covers: 7, 30 (the default) or 90.
func reportPeriod(r *http.Request) int {
	switch d := atoiDefault(r.URL.Query().Get("days"), 30); d {
	case 7, 30, 90:
		return d
	}
	return 30
}

// reportData is what the reports page and its exports show.
type reportData struct {
	Days     int
	Daily    []report.Day
	Models   []report.Share
	Features []report.Share
	Top      []report.TopUser
	Since    time.Time
}

func (s *Server) reportData(r *http.Request) (*reportData, error) {
	d := &reportData{Days: reportPeriod(r)}
	d.Since = report.StartOfDay(s.Now()).AddDate(0, 0, -(d.Days - 1))
	var err error
	ctx := r.Context()
	if d.Daily, err = s.Reports.Daily(ctx, d.Days); err != nil {
		return nil, err
	}
	if d.Models, err = s.Reports.ByModel(ctx, d.Since); err != nil {
		return nil, err
	}
	if d.Features, err = s.Reports.ByFeature(ctx, d.Since); err != nil {
		return nil, err
	}
	d.Top, err = s.Reports.TopUsers(ctx, d.Since, 10)
	return d, err
}

func (s *Server) showReportsPage(w http.ResponseWriter, r *http.Request) {
	d, err := s.reportData(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}

	var credits, images, models, features, top []chart.Bar
	for _, day := range d.Daily {
		label := day.Day.Format("2 Jan")
		credits = append(credits, chart.Bar{Label: label, Value: float64(day.Credits) / 1000,
			Note: day.Credits.String() + " credits"})
		images = append(images, chart.Bar{Label: label, Value: float64(day.Images),
			Note: strconv.Itoa(day.Images) + " images"})
	}
	for _, m := range d.Models {
		models = append(models, shareBar(m))
	}
	for _, f := range d.Features {
		features = append(features, shareBar(f))
	}
	for _, u := range d.Top {
		top = append(top, chart.Bar{Label: userLabel(u), Value: float64(u.Credits) / 1000,
			Note: u.Credits.String() + " credits"})
	}

	step := max(d.Days/10, 1)
	// The chart package escapes every label and writes only presentation attributes, so
	// its markup is safe to insert as it is.
	s.render(w, r, http.StatusOK, "admin_reports", "Reports", map[string]any{
		"Data":     d,
		"Credits":  template.HTML(chart.Columns("Credits used per day", credits, step)),
		"Images":   template.HTML(chart.Columns("Images made per day", images, step)),
		"Models":   template.HTML(chart.Rows("Credits used per model", models)),
		"Features": template.HTML(chart.Rows("Credits used per feature", features)),
		"Top":      template.HTML(chart.Rows("Top users by credits used", top)),
	})
}

func shareBar(sh report.Share) chart.Bar {
	return chart.Bar{Label: sh.Label, Value: float64(sh.Credits) / 1000,
		Note: sh.Credits.String() + " credits, " + strconv.Itoa(sh.Jobs) + " jobs"}
}

// userLabel names a user in a report: the address, or the id of a deleted account.
func userLabel(u report.TopUser) string {
	if u.Email == "" {
		return "deleted account " + strconv.FormatInt(u.UserID, 10)
	}
	return u.Email
}

func (s *Server) exportReportCSV(w http.ResponseWriter, r *http.Request) {
	d, err := s.reportData(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var rows [][]string
	for _, day := range d.Daily {
		rows = append(rows, []string{"day", day.Day.Format("2006-01-02"), "",
			day.Credits.String(), strconv.Itoa(day.Images), ""})
	}
	for _, m := range d.Models {
		rows = append(rows, []string{"model", m.Label, "", m.Credits.String(), "",
			strconv.Itoa(m.Jobs)})
	}
	for _, f := range d.Features {
		rows = append(rows, []string{"feature", f.Label, "", f.Credits.String(), "",
			strconv.Itoa(f.Jobs)})
	}
	for _, u := range d.Top {
		rows = append(rows, []string{"user", strconv.FormatInt(u.UserID, 10), u.Email,
			u.Credits.String(), "", strconv.Itoa(u.Jobs)})
	}
	writeCSV(w, r, "report-"+strconv.Itoa(d.Days)+"-days.csv",
		[]string{"group", "key", "email", "credits", "images", "jobs"}, rows)
}
