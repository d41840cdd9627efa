package vectors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/sim"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
)

// simHistory runs a small simulation in suite id: a group of six, then
// a fixed round of operations (a proposal by reference committed by
// another member, an add, a self-update, racing commits, a removal, and
// application traffic); then a newcomer joins and passively follows an
// external join (a member resyncs by an external commit) and, last, a
// ReInit that closes the group. It returns the newcomer.
func simHistory(t *testing.T, id suite.ID) (*sim.Sim, *sim.Member) {
	t.Helper()
	s, err := sim.New(sim.Config{Seed: uint64(id), Suite: id, Members: 8})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Grow(6); err != nil {
		t.Fatal(err)
	}
	for range 1 {
		for _, op := range []func() error{
			s.ProposeUpdate, func() error { return s.Add(1) }, s.Update, func() error { return s.Send(2) },
			func() error { return s.Race(2) }, s.Remove, s.Deliver, s.ProposeUpdate,
		} {
			if err := op(); err != nil {
				t.Fatal(err)
			}
			if err := s.Check(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A newcomer follows the rest passively: another member's external
	// commit, then a third member's ReInit.
	if err := s.Add(1); err != nil {
		t.Fatal(err)
	}
	newcomer := s.Members()[len(s.Members())-1]
	var others []*sim.Member
	for _, m := range s.Active() {
		if m != newcomer {
			others = append(others, m)
		}
	}
	if err := s.Resync(others[len(others)-1], others[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	reInit(t, s, others[1])
	return s, newcomer
}

// reInit has committer commit a ReInit proposal (same suite, a new group
// id) and every other active member process the commit, closing the group.
func reInit(t *testing.T, s *sim.Sim, committer *sim.Member) {
	t.Helper()
	ctx := committer.State().GroupContext()
	ri := codec.ReInit{GroupID: []byte("reinitialized"), Version: ctx.Version, CipherSuite: ctx.CipherSuite}
	effs, err := s.Apply(committer, transitions.Commit{At: s.Now(), Inline: []codec.Proposal{{ProposalType: codec.ProposalReInit, ReInit: &ri}}})
	if err != nil {
		t.Fatal(err)
	}
	var msg []byte
	for _, e := range effs {
		if m, ok := e.(effects.SendToGroup); ok {
			msg = m.Message
		}
	}
	if _, err := s.Apply(committer, transitions.ConfirmCommit{At: s.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, m := range s.Active() {
		if m != committer {
			if err := s.ProcessCommit(m, msg); err != nil {
				t.Fatalf("%s: %v", m.Name, err)
			}
		}
	}
	if committer.State().Public().ReInit == nil {
		t.Fatal("the ReInit commit did not close the group")
	}
}

// export exports m's passive history.
func export(t *testing.T, m *sim.Member) (Export, error) {
	t.Helper()
	l, err := replay.ReadLog(m.Log())
	if err != nil {
		t.Fatal(err)
	}
	res, err := replay.ReplayLog(l, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ExportPassiveClient(res, nil)
}

// exportBest exports the passive history of every member that joined by
// Welcome and returns the longest.
func exportBest(t *testing.T, s *sim.Sim) Export {
	t.Helper()
	var best Export
	found := false
	for _, m := range s.Members() {
		ex, err := export(t, m)
		if errors.Is(err, ErrNotExportable) {
			continue // the creator, or a client that never joined
		}
		if err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if !found || ex.Epochs > best.Epochs || (ex.Epochs == best.Epochs && ex.Proposals > best.Proposals) {
			best, found = ex, true
		}
	}
	if !found {
		t.Fatal("no member's history exports")
	}
	return best
}

// TestExportPassiveClient exports a simulated member's history in every
// supported suite as a passive-client vector, checks that the file is in
// the working group's format (the fields FORMAT.md lists, hex strings),
// and runs it back through RunFile, the runner of mls vectors: it passes,
// and the same file with one epoch authenticator changed fails.
func TestExportPassiveClient(t *testing.T) {
	proposals := 0
	for _, id := range suite.All() {
		t.Run(fmt.Sprint(id), func(t *testing.T) {
			s, newcomer := simHistory(t, id)
			checkReInitExport(t, newcomer)
			ex := exportBest(t, s)
			if ex.Suite != uint16(id) {
				t.Fatalf("suite %d, want %d", ex.Suite, id)
			}
			if ex.Epochs < 3 {
				t.Fatalf("only %d epochs exported (stopped at record %d: %s)", ex.Epochs, ex.StopSeq, ex.Stop)
			}
			proposals += ex.Proposals
			var cases []map[string]json.RawMessage
			if err := json.Unmarshal(ex.JSON, &cases); err != nil || len(cases) != 1 {
				t.Fatalf("not a JSON array of one case: %v", err)
			}
			for _, f := range []string{"cipher_suite", "external_psks", "key_package", "signature_priv", "encryption_priv",
				"init_priv", "welcome", "ratchet_tree", "initial_epoch_authenticator", "epochs"} {
				if _, ok := cases[0][f]; !ok {
					t.Errorf("field %s missing", f)
				}
			}
			var epochs []map[string]json.RawMessage
			if err := json.Unmarshal(cases[0]["epochs"], &epochs); err != nil || len(epochs) != ex.Epochs {
				t.Fatalf("epochs: %v (%d, want %d)", err, len(epochs), ex.Epochs)
			}
			if p := string(epochs[0]["proposals"]); p == "null" {
				t.Error("proposals is null, want an array")
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "passive-client-export.json")
			if err := os.WriteFile(path, ex.JSON, 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := RunFile(path)
			if err != nil || r.Passed != 1 || r.Failed != 0 || r.Skipped != 0 {
				t.Fatalf("run back: %+v, %v", r, err)
			}
			// A wrong epoch authenticator in the last epoch fails.
			var c []passiveClientCase
			if err := json.Unmarshal(ex.JSON, &c); err != nil {
				t.Fatal(err)
			}
			last := &c[0].Epochs[len(c[0].Epochs)-1]
			last.EpochAuthenticator = bytes.Clone(last.EpochAuthenticator)
			last.EpochAuthenticator[0] ^= 1
			bad, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			if r, err := RunFile(path); err != nil || r.Failed != 1 {
				t.Fatalf("a wrong epoch authenticator: %+v, %v", r, err)
			}
		})
	}
	if proposals == 0 {
		t.Error("no exported history holds a proposal")
	}
}

// checkReInitExport exports the history of m, a member that followed an
// external commit and then a ReInit passively: its epochs hold the
// external commit, it ends with the ReInit commit's epoch, and the file
// runs back through RunFile.
func checkReInitExport(t *testing.T, m *sim.Member) {
	t.Helper()
	ex, err := export(t, m)
	if err != nil {
		t.Fatalf("%s: %v", m.Name, err)
	}
	if ex.Stop != "the group was reinitialized" {
		t.Errorf("stopped at record %d: %s, want the ReInit", ex.StopSeq, ex.Stop)
	}
	var c []passiveClientCase
	if err := json.Unmarshal(ex.JSON, &c); err != nil || len(c) != 1 {
		t.Fatalf("not a JSON array of one case: %v", err)
	}
	external, reinit := false, false
	for i, e := range c[0].Epochs {
		m, err := codec.DecodeMLSMessage(e.Commit)
		if err != nil {
			t.Fatalf("epoch %d: %v", i, err)
		}
		last := i == len(c[0].Epochs)-1
		if last && m.PrivateMessage != nil {
			// Encrypted (the member's handshake policy): the stop
			// reason above says the epoch was the ReInit's.
			reinit = true
		}
		if pm := m.PublicMessage; pm != nil {
			external = external || pm.Content.Sender.SenderType == codec.SenderTypeNewMemberCommit
			if last && pm.Content.Commit != nil {
				for _, p := range pm.Content.Commit.Proposals {
					reinit = reinit || p.Proposal != nil && p.Proposal.ProposalType == codec.ProposalReInit
				}
			}
		}
	}
	if !external || !reinit {
		t.Errorf("%d epochs: external commit exported %v, ReInit commit last %v", len(c[0].Epochs), external, reinit)
	}
	path := filepath.Join(t.TempDir(), "passive-client-reinit.json")
	if err := os.WriteFile(path, ex.JSON, 0o644); err != nil {
		t.Fatal(err)
	}
	if r, err := RunFile(path); err != nil || r.Passed != 1 || r.Failed != 0 || r.Skipped != 0 {
		t.Fatalf("run back: %+v, %v", r, err)
	}
}
