package transitions

import (
	"errors"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/valsem"
)

// TestConfigResumptionPSKBound: a group created, joined from a Welcome or
// joined externally with a Config that keeps more resumption PSKs than
// Limits.MaxResumptionPSKs (default state.MaxResumptionPSKsLimit) is
// rejected with ValSem400 (RFC 9420, Section 8.6: the number of stored
// resumption PSKs is bounded), with the LimitError when the Limits set the
// bound.
func TestConfigResumptionPSKBound(t *testing.T) {
	tests := []struct {
		name   string
		keep   uint32
		limit  uint32 // Limits.MaxResumptionPSKs; 0 for the default
		code   error
		limit2 bool // a *LimitError is expected
	}{
		{name: "default_limit_ok", keep: state.MaxResumptionPSKsLimit},
		{name: "over_default_limit", keep: state.MaxResumptionPSKsLimit + 1, code: valsem.ValSem400},
		{name: "lowered_limit_ok", keep: 4, limit: 4},
		{name: "over_lowered_limit", keep: 5, limit: 4, code: valsem.ValSem400, limit2: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, a := groupWith(t, 1, state.DefaultConfig(), "bob")
			cfg := state.DefaultConfig()
			cfg.ResumptionPSKs = tt.keep
			lim := Limits{MaxResumptionPSKs: tt.limit}
			gi := w.groupInfo(a, true)
			d := w.newMember("dave")
			kp := w.keyPackage(d)
			effs := w.must(a, Commit{At: testAt, Inline: []codec.Proposal{addOf(kp)}, RatchetTree: TreeInclude})
			wel, _ := effects.Find[effects.SendWelcome](effs)
			c := w.newMember("carol")
			e := w.newMember("erin")
			events := []struct {
				m  *member
				ev Event
			}{
				{c, CreateGroup{At: testAt, Suite: 1, GroupID: []byte("g2"), SignatureKey: c.sig, Credential: w.credential(c), Lifetime: testLifetime, Config: cfg}},
				{d, JoinWelcome{At: testAt, Welcome: wel.Welcome, Config: cfg}},
				{e, ExternalJoin{At: testAt, GroupInfo: gi, SignatureKey: e.sig, Credential: w.credential(e), Config: cfg}},
			}
			for _, x := range events {
				env := w.env(x.m)
				env.Limits = lim
				before := x.m.s.Digest()
				next, out, err := Apply(x.m.s, x.ev, env)
				if tt.code == nil {
					if err != nil {
						t.Fatalf("%s: %v", Name(x.ev), err)
					}
					continue
				}
				if !errors.Is(err, tt.code) || out != nil || next.Digest() != before {
					t.Fatalf("%s: got %v (%d effects), want %v and no change", Name(x.ev), err, len(out), tt.code)
				}
				var le *LimitError
				if errors.As(err, &le) != tt.limit2 {
					t.Fatalf("%s: %v: limit error %v, want %v", Name(x.ev), err, le, tt.limit2)
				}
			}
		})
	}
}
