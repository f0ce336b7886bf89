package credit

import (
	"fmt"
	"strconv"
	"strings"
)

// Milli is an amount of credits counted in thousandths of a credit, so that every balance,
// cost and ledger amount is an exact integer.
type Milli int64

// Limits on amounts, in milli-credits.
const (
	// One is a single credit.
	One Milli = 1000

	// MinCost is the cheapest a feature may be: a tenth of a credit.
	MinCost Milli = 100

	// MaxCost is the dearest a feature may be: a thousand credits.
	MaxCost Milli = 1000 * One

	// MaxBalance is the largest balance and the largest amount ParseCredits accepts: a
	// billion credits, far from the int64 limit so that sums of ledger rows cannot overflow.
	MaxBalance Milli = 1_000_000_000 * One
)

// maxInput bounds the text ParseCredits looks at; no valid amount is anywhere near as long.
const maxInput = 32

// Messages shown to people who typed an amount that is refused.
const (
	msgEmpty     = "Enter an amount of credits, such as 1, 0.5 or 1000."
	msgNotNumber = "Write the amount with digits and at most one dot, such as 1, 0.5 or 1000."
	msgComma     = "Use a dot for decimals, as in 0.5, and no thousands separators."
	msgDecimals  = "Credits have at most three decimals; the smallest step is 0.001."
	msgTooLarge  = "That amount is too large; the most is 1000000000 credits."
	msgCostRange = "A cost must be between 0.1 and 1000 credits."
)

// Error is a refusal whose Message can be shown to the person who asked for the change.
type Error struct {
	// Message explains the refusal in a sentence a person can act on.
	Message string
}

// Error returns the message meant for the user.
func (e *Error) Error() string {
	return e.Message
}

func refuse(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// String formats m as a decimal number of credits without trailing zeros: "1", "0.5",
// "2.125", "-3".
func (m Milli) String() string {
	sign := ""
	// uint64 keeps the most negative int64 representable after the sign is taken off.
	abs := uint64(m)
	if m < 0 {
		sign = "-"
		abs = -abs
	}

	whole := strconv.FormatUint(abs/1000, 10)
	frac := abs % 1000
	if frac == 0 {
		return sign + whole
	}
	decimals := strings.TrimRight(fmt.Sprintf("%03d", frac), "0")
	return sign + whole + "." + decimals
}

// ParseCredits reads an amount a person typed, such as "1", "0.1", "+5", "-2.5" or "1000",
// with at most three decimals and at most MaxBalance in size. A refusal is an *Error whose
// Message says what to change.
func ParseCredits(s string) (Milli, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, refuse(msgEmpty)
	}
	if len(s) > maxInput {
		return 0, refuse(msgTooLarge)
	}

	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if err := checkDigits(s, whole, frac, hasDot); err != nil {
		return 0, err
	}

	m, err := combine(whole, frac)
	if err != nil {
		return 0, err
	}
	if neg {
		m = -m
	}
	return m, nil
}

// checkDigits refuses anything but digits around at most one dot, with at least one digit
// on each side of a dot that is present (".5" reads as 0.5, but "5." is refused).
func checkDigits(s, whole, frac string, hasDot bool) error {
	if strings.Contains(s, ",") {
		return refuse(msgComma)
	}
	if !allDigits(whole) || !allDigits(frac) || (whole == "" && frac == "") {
		return refuse(msgNotNumber)
	}
	if hasDot && frac == "" {
		return refuse(msgNotNumber)
	}
	if len(frac) > 3 {
		return refuse(msgDecimals)
	}
	return nil
}

// combine turns checked digit strings into milli-credits, refusing amounts over MaxBalance.
func combine(whole, frac string) (Milli, error) {
	var m Milli
	for _, c := range whole {
		m = m*10 + Milli(c-'0')
		if m > MaxBalance/One {
			return 0, refuse(msgTooLarge)
		}
	}
	m *= One

	scale := Milli(100)
	for _, c := range frac {
		m += Milli(c-'0') * scale
		scale /= 10
	}
	if m > MaxBalance {
		return 0, refuse(msgTooLarge)
	}
	return m, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ValidCost reports whether m may be the price of a feature: from 0.1 to 1000 credits. A
// refusal is an *Error.
func ValidCost(m Milli) error {
	if m < MinCost || m > MaxCost {
		return refuse(msgCostRange)
	}
	return nil
}
