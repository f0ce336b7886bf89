package password

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestNewPolicy(t *testing.T) {
	tests := []struct {
		name      string
		minLength int
		cost      int
		want      Policy
		wantErr   string
	}{
		{name: "zero means defaults", want: Policy{MinLength: 8, Cost: 12}},
		{name: "explicit", minLength: 12, cost: 14, want: Policy{MinLength: 12, Cost: 14}},
		{name: "lowest cost", cost: 10, want: Policy{MinLength: 8, Cost: 10}},
		{name: "cost below 10", cost: 9, wantErr: "between 10 and 31, got 9"},
		{name: "test cost refused", cost: 4, wantErr: "got 4"},
		{name: "negative cost", cost: -1, wantErr: "got -1"},
		{name: "cost above bcrypt max", cost: 32, wantErr: "got 32"},
		{name: "length below 8", minLength: 6, wantErr: "between 8 and 72, got 6"},
		{name: "length above byte limit", minLength: 73, wantErr: "got 73"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewPolicy(tt.minLength, tt.cost)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewPolicy(%d, %d) error = %v, want it to contain %q",
						tt.minLength, tt.cost, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NewPolicy(%d, %d) = %+v, %v; want %+v", tt.minLength, tt.cost,
					got, err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		pw     string
		want   string // expected message, or "" when accepted
	}{
		{name: "mixed case and digits", pw: "Gq7vWm2pLx", want: ""},
		{name: "exactly eight characters", pw: "zQ8#kLp2", want: ""},
		{name: "seven characters", pw: "zQ8#kLp", want: "Passwords must be at least 8 characters long."},
		{name: "empty", pw: "", want: "Passwords must be at least 8 characters long."},
		{name: "spaces count as a class", pw: "mauve kettle orbit", want: ""},
		{name: "symbols allowed", pw: `~!@#$%^&*()_+{}|:"<>?ab`, want: ""},
		{name: "only lowercase", pw: "mauvekettleorbit", want: msgOneClass},
		{name: "only uppercase", pw: "MAUVEKETTLEORBIT", want: msgOneClass},
		{name: "only digits", pw: "90817263545", want: msgOneClass},
		{name: "only symbols", pw: "!@#$%^&*()", want: msgOneClass},
		{name: "only spaces", pw: "            ", want: msgOneClass},
		{name: "accented letters of both cases", pw: "Ünïcödé pässwört", want: ""},
		{name: "caseless script only", pw: "漢字漢字漢字漢字", want: msgOneClass},
		{name: "caseless script with digits", pw: "漢字漢字漢字漢字42", want: ""},
		{name: "counts runes not bytes", pw: "Äöü€€€€", want: "Passwords must be at least 8 characters long."},
		{name: "eight runes of many bytes", pw: "Äöü€€€€€", want: ""},
		{name: "common as typed", pw: "iloveyou", want: msgOneClass},
		{name: "common with capital", pw: "Iloveyou", want: msgCommon},
		{name: "common in capitals and digits", pw: "PASSWORD123", want: msgCommon},
		{name: "common with trailing digits and symbol", pw: "Password123!", want: msgCommon},
		{name: "common with trailing spaces", pw: "Sunshine   ", want: msgCommon},
		{name: "common keyboard run", pw: "1q2w3e4r5t", want: msgCommon},
		{name: "common number run", pw: "1234567890", want: msgOneClass},
		{name: "common leetspeak", pw: "P@ssw0rd2024", want: msgCommon},
		{name: "common word inside is fine", pw: "MyDragonHasWings", want: ""},
		{name: "leading digits are not stripped", pw: "2024Dragon", want: ""},
		{name: "product name", pw: "SketchMaker1", want: msgCommon},
		{name: "invalid UTF-8", pw: "Abcdefg\xff1", want: msgBadUTF8},
		{name: "72 bytes", pw: "Aa1!" + strings.Repeat("x", 68), want: ""},
		{
			name: "73 bytes", pw: "Aa1!" + strings.Repeat("x", 69),
			want: "Passwords can be at most 72 bytes; this one is 73 bytes " +
				"(letters outside plain ASCII take 2-4 bytes each).",
		},
		{
			name: "100 bytes of emoji", pw: strings.Repeat("🎨", 25),
			want: "Passwords can be at most 72 bytes; this one is 100 bytes " +
				"(letters outside plain ASCII take 2-4 bytes each).",
		},
		{
			name: "custom minimum", policy: Policy{MinLength: 12}, pw: "Gq7vWm2pLx",
			want: "Passwords must be at least 12 characters long.",
		},
		{
			name: "minimum never below 8", policy: Policy{MinLength: 3}, pw: "Gq7vW",
			want: "Passwords must be at least 8 characters long.",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Validate(tt.pw)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate(%q) = %v, want accepted", tt.pw, err)
				}
				return
			}

			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Validate(%q) = %v (%T), want *Error", tt.pw, err, err)
			}
			if perr.Message != tt.want {
				t.Fatalf("Validate(%q) message = %q, want %q", tt.pw, perr.Message, tt.want)
			}
		})
	}
}

func TestCommonListIsUsable(t *testing.T) {
	list := commonPasswords()
	if len(list) < 300 {
		t.Fatalf("common list has %d entries, want at least 300", len(list))
	}

	for entry := range list {
		if entry != strings.ToLower(entry) || entry != strings.TrimSpace(entry) {
			t.Errorf("entry %q is not lowercase and trimmed, so it can never match", entry)
		}
		if len(entry) > MaxBytes {
			t.Errorf("entry %q is longer than any accepted password", entry)
		}
	}
}

// Every listed password is refused, whatever its case, and so is every listed word that
// someone decorates with a year and a symbol to pass the other rules.
func TestValidateRefusesEveryCommonPassword(t *testing.T) {
	var p Policy
	for entry := range commonPasswords() {
		if p.Validate(entry) == nil {
			t.Errorf("Validate(%q) accepted a listed password", entry)
		}
		if p.Validate(strings.ToUpper(entry)) == nil {
			t.Errorf("Validate(%q) accepted a listed password in capitals",
				strings.ToUpper(entry))
		}

		last, _ := utf8.DecodeLastRuneInString(entry)
		if !unicode.IsLetter(last) {
			continue
		}
		decorated := strings.ToUpper(entry[:1]) + entry[1:] + "2024!"
		err := p.Validate(decorated)
		var perr *Error
		if !errors.As(err, &perr) || perr.Message != msgCommon {
			t.Errorf("Validate(%q) = %v, want the common-password refusal", decorated, err)
		}
	}
}

func TestErrorIsSafeToShow(t *testing.T) {
	err := Policy{}.Validate("short")

	var perr *Error
	if !errors.As(err, &perr) {
		t.Fatalf("Validate error %T is not *Error", err)
	}
	if err.Error() != perr.Message {
		t.Fatalf("Error() = %q, Message = %q; want the same user-facing text",
			err.Error(), perr.Message)
	}
	if strings.Contains(perr.Message, "short") {
		t.Fatalf("message %q repeats the password", perr.Message)
	}
}

func FuzzValidate(f *testing.F) {
	for _, seed := range []string{
		"", "Password123!", "correct horse battery staple", "Aa1!" + strings.Repeat("x", 69),
		"Äöü€€€€€", "\xff\xfe", "漢字漢字漢字漢字", "abcdefgh", "Gq7vWm2pLx",
	} {
		f.Add(seed)
	}

	var p Policy
	f.Fuzz(func(t *testing.T, pw string) {
		err := p.Validate(pw)
		if err == nil {
			if len(pw) > MaxBytes || utf8.RuneCountInString(pw) < DefaultMinLength ||
				!utf8.ValidString(pw) || classes(pw) < 2 || isCommon(pw) {
				t.Fatalf("Validate(%q) accepted a password that breaks a rule", pw)
			}
			return
		}

		var perr *Error
		if !errors.As(err, &perr) || perr.Message == "" {
			t.Fatalf("Validate(%q) = %v (%T), want *Error with a message", pw, err, err)
		}
		if len(pw) > MaxBytes && !strings.Contains(perr.Message, "at most 72 bytes") {
			t.Fatalf("Validate(%q) message %q does not name the byte limit", pw, perr.Message)
		}
	})
}
