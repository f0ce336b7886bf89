package fault

import (
	"errors"
	"fmt"
	"testing"
)

func TestTwoFaces(t *testing.T) {
	cause := errors.New("pq: relation users does not exist")
	err := fmt.Errorf("register: %w", Wrap(Invalid, "That email is taken.", cause))

	fe := As(err)
	if fe == nil || fe.Kind != Invalid || fe.Message != "That email is taken." {
		t.Fatalf("As = %+v", fe)
	}
	if !errors.Is(err, cause) {
		t.Fatal("the internal cause is lost for the log")
	}
	if As(cause) != nil {
		t.Fatal("a plain error claims a safe face")
	}
	if f := Field("email", "Enter an email."); f.Field != "email" || f.Kind != Invalid {
		t.Fatalf("Field = %+v", f)
	}
}
