package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sketchmaker/sketchmaker/internal/credit"
	"github.com/sketchmaker/sketchmaker/internal/fault"
	"github.com/sketchmaker/sketchmaker/internal/media"
)

// statusOf maps an error kind to its HTTP status.
var statusOf = map[fault.Kind]int{
	fault.Internal:     http.StatusInternalServerError,
	fault.Invalid:      http.StatusBadRequest,
	fault.Unauthorized: http.StatusUnauthorized,
	fault.Forbidden:    http.StatusForbidden,
	fault.NotFound:     http.StatusNotFound,
	fault.Conflict:     http.StatusConflict,
	fault.NoCredits:    http.StatusPaymentRequired,
	fault.TooLarge:     http.StatusRequestEntityTooLarge,
	fault.Unsupported:  http.StatusUnsupportedMediaType,
	fault.Limited:      http.StatusTooManyRequests,
	fault.Unavailable:  http.StatusServiceUnavailable,
}

// typeOf names each kind in the JSON error's type field.
var typeOf = map[fault.Kind]string{
	fault.Internal:     "internal_error",
	fault.Invalid:      "validation_error",
	fault.Unauthorized: "authentication_error",
	fault.Forbidden:    "permission_error",
	fault.NotFound:     "not_found",
	fault.Conflict:     "conflict",
	fault.NoCredits:    "insufficient_credits",
	fault.TooLarge:     "payload_too_large",
	fault.Unsupported:  "unsupported_media_type",
	fault.Limited:      "rate_limited",
	fault.Unavailable:  "service_unavailable",
}

// apiError is the one error shape of every JSON endpoint.
type apiError struct {
	Error     string `json:"error"`
	Details   any    `json:"details"` // an object, empty when there is nothing to add
	Type      string `json:"type"`
	Code      int    `json:"code"`
	Timestamp string `json:"timestamp"`
	RequestID string `json:"request_id"`

	CreditsRemaining *float64 `json:"credits_remaining,omitempty"`
}

// classify turns any error into its safe face. Unknown errors become a generic 500 and are
// logged with their cause.
func (s *Server) classify(r *http.Request, err error) (*fault.Error, *apiError) {
	fe := fault.As(err)
	var me *media.Error
	var ie *credit.InsufficientError
	var mbe *http.MaxBytesError
	extra := &apiError{}
	switch {
	case errors.As(err, &ie):
		rem := float64(ie.Remaining) / 1000
		extra.CreditsRemaining = &rem
		fe = fault.Wrap(fault.NoCredits, "You do not have enough credits for this request: "+
			"it costs "+ie.Needed.String()+" and you have "+ie.Remaining.String()+".", err)
	case errors.As(err, &me):
		fe = fault.Wrap(kindOfStatus(me.Status), me.Message, err)
	case errors.As(err, &mbe):
		fe = fault.Wrap(fault.TooLarge, "The request is too large: this address accepts "+
			"at most "+sizeText(mbe.Limit)+".", err)
	case fe == nil || fe.Kind == fault.Internal:
		s.Log.Error("request failed", "request_id", state(r).id, "route", r.Pattern,
			"error", err)
		fe = fault.New(fault.Internal, "Something went wrong on our side. Please try "+
			"again; if it keeps happening, tell your administrator the request id.")
	}
	return fe, extra
}

func kindOfStatus(status int) fault.Kind {
	for k, st := range statusOf {
		if st == status {
			return k
		}
	}
	return fault.Invalid
}

// fail answers a request with the safe face of err, as JSON or as a page.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	fe, body := s.classify(r, err)
	status := statusOf[fe.Kind]
	st := state(r)
	if !st.api && !isJSON(r) {
		// A page, unless the client sent JSON: a JSON client gets a JSON error even on a
		// route that also serves forms, such as /login and /register.
		s.renderError(w, r, status, fe.Message)
		return
	}

	body.Error, body.Type, body.Code = fe.Message, typeOf[fe.Kind], status
	body.Timestamp = time.Now().UTC().Format(time.RFC3339)
	body.RequestID = st.id
	body.Details = map[string]string{}
	if fe.Field != "" {
		body.Details = map[string]string{"field": fe.Field}
	}
	writeJSON(w, status, body)
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// decodeJSON reads a JSON body into v, refusing any other content type, and any body
// that is not UTF-8: encoding/json would quietly turn bytes it cannot read into U+FFFD,
// and the request would go on, and be charged for, with words the person never wrote.
func decodeJSON(r *http.Request, v any) error {
	if !isJSON(r) {
		return fault.New(fault.Unsupported, "Send the request body as JSON with "+
			"Content-Type: application/json.")
	}
	_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return fault.New(fault.Unsupported, "Send JSON in UTF-8 (charset="+
			clipText(cs, 20)+" is not read).")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return fault.Wrap(fault.Invalid, "The request body could not be read.", err)
	}
	if !utf8.Valid(body) {
		return fault.New(fault.Invalid, "The request body is not valid UTF-8; send the "+
			"text encoded as UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fault.Field(te.Field, te.Field+" has the wrong type; expected "+
				te.Type.String()+".")
		}
		return fault.Wrap(fault.Invalid, "The request body is not valid JSON.", err)
	}
	if dec.More() {
		return fault.New(fault.Invalid, "The request body must hold a single JSON object.")
	}
	return checkTokens(body)
}

// checkTokens refuses what encoding/json accepts but SketchMaker cannot keep: an object
// naming a key twice, spelled alike or differing only in case, which encoding/json would
// match to one field (the last value wins here, the first in other parsers, so such a
// body means different things to each), and a NUL character (\u0000) in any string,
// which PostgreSQL refuses to store or compare. body is valid JSON already.
func checkTokens(body []byte) error {
	type frame struct {
		keys    map[string]bool // nil for an array
		wantKey bool
		key     string // the key whose value is being read
	}
	var stack []*frame
	// valueDone notes that a value ended: in an object, a key comes next.
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		n := len(stack)
		if str, ok := tok.(string); ok && strings.ContainsRune(str, 0) {
			field := ""
			if n > 0 && !stack[n-1].wantKey {
				field = stack[n-1].key
			}
			return nulError(field)
		}
		if n > 0 && stack[n-1].wantKey {
			if key, ok := tok.(string); ok {
				k := strings.ToLower(key)
				if stack[n-1].keys[k] {
					return fault.Field(key, "The request body names "+clipText(key, 40)+
						" more than once; send each field once.")
				}
				stack[n-1].keys[k], stack[n-1].wantKey, stack[n-1].key = true, false, key
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// nulError refuses a NUL character, naming its field when it is known.
func nulError(field string) error {
	msg := "The request body holds a NUL character (\\u0000); send text without it."
	if field == "" {
		return fault.New(fault.Invalid, msg)
	}
	return fault.Field(field, clipText(field, 40)+" holds a NUL character (\\u0000); "+
		"send text without it.")
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, fault.New(fault.NotFound, "There is nothing at this address."))
}
