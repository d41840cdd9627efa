package replay

import (
	"errors"
	"fmt"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/valsem"
)

// otherErrors numbers the transitions sentinel errors in the Code of an
// OtherError outcome, so a replay also checks which one occurred. Code 0 is
// any other error. Append only: logs depend on the numbers.
func otherErrors() []error {
	return []error{
		transitions.ErrWrongState,        // 1
		transitions.ErrNoEntropy,         // 2
		transitions.ErrMissingKey,        // 3
		transitions.ErrUnsupported,       // 4
		transitions.ErrInvalidKeyPackage, // 5
		transitions.ErrInvalidLeafNode,   // 6
		transitions.ErrInvalidProposals,  // 7
		transitions.ErrInvalidWelcome,    // 8
		transitions.ErrInvalidMessage,    // 9
		transitions.ErrEventEncoding,     // 10
	}
}

// OutcomeOf classifies the error Apply returned.
func OutcomeOf(err error) Outcome {
	if err == nil {
		return Outcome{Class: OK}
	}
	var ve *valsem.Error
	if errors.As(err, &ve) {
		return Outcome{Class: Rejected, Code: uint16(ve.Code)}
	}
	var vc valsem.Code
	if errors.As(err, &vc) {
		return Outcome{Class: Rejected, Code: uint16(vc)}
	}
	var de *codec.DecodeError
	if errors.As(err, &de) {
		return Outcome{Class: DecodeError}
	}
	var pe *transitions.PolicyError
	if errors.As(err, &pe) {
		return Outcome{Class: PolicyError}
	}
	var le *transitions.LimitError
	if errors.As(err, &le) {
		return Outcome{Class: LimitError}
	}
	for i, s := range otherErrors() {
		if errors.Is(err, s) {
			return Outcome{Class: OtherError, Code: uint16(i + 1)}
		}
	}
	return Outcome{Class: OtherError}
}

// String describes the outcome: "ok", "ValSem103", "decode error",
// "policy error", "limit error", or the sentinel error's text.
func (o Outcome) String() string {
	switch o.Class {
	case OK:
		return "ok"
	case Rejected:
		return fmt.Sprintf("ValSem%03d", o.Code)
	case DecodeError:
		return "decode error"
	case PolicyError:
		return "policy error"
	case LimitError:
		return "limit error"
	case OtherError:
		if errs := otherErrors(); o.Code >= 1 && int(o.Code) <= len(errs) {
			return errs[o.Code-1].Error()
		}
		return "error"
	}
	return fmt.Sprintf("outcome(%d, %d)", o.Class, o.Code)
}
