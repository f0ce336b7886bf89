package generation

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sketchmaker/sketchmaker/internal/fault"
)

func check(t *testing.T, body string) (*Params, error) {
	t.Helper()
	var r Request
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("bad test body %s: %v", body, err)
	}
	return r.Check(func() uint32 { return 7 })
}

func TestCheckAcceptsTheOriginalsFields(t *testing.T) {
	p, err := check(t, `{"prompt":"  A Cafe\u0301 at dawn  ","model":"builtin/sketch",
		"image_size":"landscape_16_9","art_style":"Vintage","negative_prompt":"blur",
		"num_inference_steps":30,"guidance_scale":7.5,"seed":4294967295,"num_images":4,
		"output_format":"jpg"}`)
	if err != nil {
		t.Fatal(err)
	}
	want := Params{Prompt: "A Café at dawn", NegativePrompt: "blur", Model: "builtin/sketch",
		Style: "vintage", SizeName: "landscape_16_9", Width: 1024, Height: 576, Steps: 30,
		Guidance: 7.5, Seed: 4294967295, SeedGiven: true, NumImages: 4, Format: "jpeg"}
	if *p != want {
		t.Fatalf("got %+v\nwant %+v", *p, want)
	}
}

func TestCheckDefaultsAndCustomSize(t *testing.T) {
	p, err := check(t, `{"prompt":"x","image_size":{"width":648,"height":1280}}`)
	if err != nil {
		t.Fatal(err)
	}
	if p.Width != 648 || p.Height != 1280 || p.SizeName != "custom" || p.Seed != 7 ||
		p.SeedGiven || p.NumImages != 1 || p.Format != "png" || p.Model != DefaultModel {
		t.Fatalf("defaults: %+v", *p)
	}
	p, err = check(t, `{"prompt":"x","image_size":"1500x500"}`)
	if err != nil || p.Width != 1500 || p.Height != 500 {
		t.Fatalf("social preset: %+v %v", p, err)
	}
}

func TestCheckSizeAsWidthByHeight(t *testing.T) {
	for _, c := range []struct {
		size, name string
		w, h       int
	}{
		{"1024x1024", "square_hd", 1024, 1024},
		{"800X600", "custom", 800, 600},
		{" 1024 × 768 ", "landscape_4_3", 1024, 768},
	} {
		p, err := check(t, `{"prompt":"x","image_size":"`+c.size+`"}`)
		if err != nil || p.SizeName != c.name || p.Width != c.w || p.Height != c.h {
			t.Errorf("%q: %+v %v", c.size, p, err)
		}
	}
	for size, field := range map[string]string{
		"1024x": "image_size", "x768": "image_size", "axb": "image_size",
		"1024x768x2": "image_size", "-8x512": "image_size", "100x512": "image_size.width",
		"512x4096": "image_size.height", "1023x1024": "image_size",
		"99999999x8": "image_size",
	} {
		_, err := check(t, `{"prompt":"x","image_size":"`+size+`"}`)
		if fe := fault.As(err); fe == nil || fe.Field != field {
			t.Errorf("%q: %v, want a refusal of %s", size, err, field)
		}
	}
}

func TestCheckRefusesBadInput(t *testing.T) {
	long := strings.Repeat("a", 2001)
	cases := []struct {
		name, body, field string
	}{
		{"missing prompt", `{}`, "prompt"},
		{"empty prompt", `{"prompt":""}`, "prompt"},
		{"blank prompt", `{"prompt":"   \n "}`, "prompt"},
		{"2001 characters", `{"prompt":"` + long + `"}`, "prompt"},
		{"control character", `{"prompt":"a\u0000b"}`, "prompt"},
		{"escape character", `{"prompt":"a\u001b[31mb"}`, "prompt"},
		{"right-to-left override", `{"prompt":"a\u202eb"}`, "prompt"},
		{"direction isolate", `{"prompt":"a\u2066b"}`, "prompt"},
		{"prompt is a number", `{"prompt":42}`, "prompt"},
		{"unknown model", `{"prompt":"x","model":"evil/model"}`, "model"},
		{"unconfigured model", `{"prompt":"x","model":"fal-ai/flux/dev"}`, "model"},
		{"unknown style", `{"prompt":"x","art_style":"cubist"}`, "art_style"},
		{"unknown size", `{"prompt":"x","image_size":"huge"}`, "image_size"},
		{"size too big", `{"prompt":"x","image_size":{"width":4096,"height":512}}`,
			"image_size.width"},
		{"size not multiple of 8", `{"prompt":"x","image_size":{"width":300,"height":300}}`,
			"image_size"},
		{"size as array", `{"prompt":"x","image_size":[512,512]}`, "image_size"},
		{"unknown format", `{"prompt":"x","output_format":"gif"}`, "output_format"},
		{"zero images", `{"prompt":"x","num_images":0}`, "num_images"},
		{"five images", `{"prompt":"x","num_images":5}`, "num_images"},
		{"images as string", `{"prompt":"x","num_images":"2"}`, "num_images"},
		{"fractional images", `{"prompt":"x","num_images":1.5}`, "num_images"},
		{"negative seed", `{"prompt":"x","seed":-1}`, "seed"},
		{"seed too large", `{"prompt":"x","seed":4294967296}`, "seed"},
		{"steps too many", `{"prompt":"x","num_inference_steps":500}`, "num_inference_steps"},
		{"guidance as bool", `{"prompt":"x","guidance_scale":true}`, "guidance_scale"},
	}
	for _, tc := range cases {
		_, err := check(t, tc.body)
		fe := fault.As(err)
		if fe == nil || fe.Kind != fault.Invalid {
			t.Errorf("%s: got %v, want a validation error", tc.name, err)
			continue
		}
		if fe.Field != tc.field {
			t.Errorf("%s: field %q, want %q", tc.name, fe.Field, tc.field)
		}
		if len(fe.Message) < 10 || !strings.HasSuffix(fe.Message, ".") {
			t.Errorf("%s: message %q is not a sentence a person can act on", tc.name, fe.Message)
		}
	}
}

func TestPromptLimitCountsCharactersNotBytes(t *testing.T) {
	p, err := CheckPrompt(strings.Repeat("€", MaxPromptRunes), "prompt", true)
	if err != nil || len([]rune(p)) != MaxPromptRunes {
		t.Fatalf("2000 multi-byte characters refused: %v", err)
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{"prompt":"x"}`, `{"prompt":"x","image_size":{"width":512}}`,
		`{"num_images":1e400}`, `{"seed":"1"}`, `{"image_size":"\u0000"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var r Request
		if json.Unmarshal([]byte(body), &r) != nil {
			return
		}
		p, err := r.Check(func() uint32 { return 1 })
		if err != nil {
			if fault.As(err) == nil {
				t.Fatalf("error without a safe face: %v", err)
			}
			return
		}
		if p.Prompt == "" || p.NumImages < 1 || p.NumImages > MaxImages ||
			p.Width < 256 || p.Width > 2048 || !contains(Formats, p.Format) ||
			!contains(Styles, p.Style) {
			t.Fatalf("accepted out-of-range parameters: %+v", p)
		}
	})
}

// TestPromptWithUnreadableTextIsRefused refuses a prompt holding U+FFFD, which JSON
// decoding leaves for a lone surrogate escape or bytes that are not UTF-8.
func TestPromptWithUnreadableTextIsRefused(t *testing.T) {
	var r Request
	if err := json.Unmarshal([]byte(`{"prompt":"a \ud800 cat"}`), &r); err != nil {
		t.Fatal(err)
	}
	_, err := r.Check(func() uint32 { return 1 })
	if fe := fault.As(err); fe == nil || fe.Field != "prompt" {
		t.Fatalf("a prompt with a lone surrogate: %v", err)
	}
}
