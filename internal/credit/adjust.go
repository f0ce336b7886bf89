package credit

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// Adjust adds delta (negative to remove) to the user's balance for the administrator
// actorID and returns the new balance. It refuses, with an *Error, a change without a reason,
// a balance that would go below zero or above MaxBalance, and an administrator raising their
// own balance.
func (s *Service) Adjust(
	ctx context.Context,
	userID int64,
	delta Milli,
	actorID int64,
	reason string,
) (Milli, error) {
	if err := checkChange(userID, delta, actorID, reason); err != nil {
		return 0, err
	}

	var balance Milli
	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		var err error
		balance, err = s.add(ctx, tx, userID, delta)
		if err != nil {
			return err
		}
		return s.write(ctx, tx, entry{
			userID: userID, kind: KindAdjustment, amount: delta, balance: balance,
			actorID: actorID, reason: strings.TrimSpace(reason),
		})
	})
	if err != nil {
		return 0, fmt.Errorf("adjust credits: %w", err)
	}
	return balance, nil
}

// Set makes amount the user's balance for the administrator actorID, writing the difference
// as an adjustment. It refuses what Adjust refuses, and does nothing when the balance is
// already amount.
func (s *Service) Set(
	ctx context.Context,
	userID int64,
	amount Milli,
	actorID int64,
	reason string,
) error {
	if amount < 0 || amount > MaxBalance {
		return refuse("A balance must be between 0 and %s credits.", MaxBalance)
	}
	if strings.TrimSpace(reason) == "" {
		return ErrReasonRequired
	}

	err := s.db.Tx(ctx, func(tx *sqlx.Tx) error {
		old, err := s.lockBalance(ctx, tx, userID)
		if err != nil {
			return err
		}
		delta := amount - old
		if delta == 0 {
			return nil
		}
		if err := checkChange(userID, delta, actorID, reason); err != nil {
			return err
		}

		if _, err := s.add(ctx, tx, userID, delta); err != nil {
			return err
		}
		return s.write(ctx, tx, entry{
			userID: userID, kind: KindAdjustment, amount: delta, balance: amount,
			actorID: actorID, reason: strings.TrimSpace(reason),
		})
	})
	if err != nil {
		return fmt.Errorf("set credits: %w", err)
	}
	return nil
}

// checkChange refuses an administrative change without a reason, one that changes nothing,
// and one by which an administrator raises their own balance.
func checkChange(userID int64, delta Milli, actorID int64, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return ErrReasonRequired
	}
	if delta == 0 {
		return refuse("Enter an amount other than 0.")
	}
	if delta < -MaxBalance || delta > MaxBalance {
		return refuse(msgTooLarge)
	}
	if delta > 0 && actorID != 0 && actorID == userID {
		return ErrOwnCredits
	}
	return nil
}
