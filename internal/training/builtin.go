package training

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sketchmaker/sketchmaker/internal/engine"
)

// Builtin is the offline trainer: it measures the training images (palette, contrast,
// saturation, texture) into an engine.Profile, which is the style's weights. It needs no
// network and finishes in seconds; steps and masks do not apply to it.
type Builtin struct{}

// builtinSide is the size the images are measured at.
const builtinSide = 512

// Name returns "builtin".
func (Builtin) Name() string { return "builtin" }

// Model returns the model id recorded on the job.
func (Builtin) Model() string { return "builtin/style-profile" }

// Train learns the profile and writes it, and the options it was trained with, as JSON.
func (Builtin) Train(ctx context.Context, run *Run) (*Output, error) {
	run.Report(ctx, 10, fmt.Sprintf("Reading %d images", run.Set.Count()))
	imgs, err := run.Set.Images(ctx, builtinSide)
	if err != nil {
		return nil, err
	}
	run.Report(ctx, 60, "Measuring palette, contrast, saturation and texture")
	prof, err := engine.LearnProfile(imgs)
	if err != nil {
		return nil, fmt.Errorf("learn style profile: %w", err)
	}
	run.Report(ctx, 90, fmt.Sprintf("Learned a palette of %d colours", len(prof.Palette)))

	t := run.Training
	weights := filepath.Join(run.Dir, "style-profile.json")
	if err := writeJSON(weights, prof); err != nil {
		return nil, err
	}
	config := filepath.Join(run.Dir, "config.json")
	if err := writeJSON(config, map[string]any{
		"trainer": "builtin", "trigger_word": t.TriggerWord, "images": run.Set.Count(),
		"is_style": t.IsStyle, "profile_side": builtinSide,
	}); err != nil {
		return nil, err
	}
	return &Output{
		Weights: Artifact{Name: t.TriggerWord + "-style-profile.json", Path: weights},
		Config:  &Artifact{Name: t.TriggerWord + "-config.json", Path: config},
		Profile: prof,
	}, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}
