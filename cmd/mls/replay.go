package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/state"
)

const replayUsage = `usage: mls replay [-at SEQ] [-json] [-q] LOG

Replay re-runs every record of an event log through the state machine and
checks that each reproduces its recorded outcome, state digest and effects
digest, rebuilding the key store as it goes. It prints one history line per
record — sequence number, epoch after it, the event (with the sender of a
received message) and what changed — then the state after record SEQ (by
default the last one).

A torn final record (a crash during the last write) is dropped with a
warning. If the log is damaged before its end, or a record does not replay
to what was recorded, replay prints the history up to that record and a
report naming the record, the event, the field that differs and what the
event changed, on standard error, and exits with status 1.

A public log carries no entropy seeds: its chain and events are checked, no
state is rebuilt.

A long replay shows its progress on standard error (a bar on a terminal).
SIGINT stops it between two records: the history so far is printed, then
where it stopped, and the exit status is 130.
`

func runReplay(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("replay", stderr)
	at := fs.Int64("at", -1, "show the state after record `SEQ` (default: the last)")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	quiet := fs.Bool("q", false, "leave out the history")
	fs.Usage = func() {
		fmt.Fprint(stderr, replayUsage)
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return parseStatus(err)
	}
	if len(pos) != 1 {
		return usageError(stderr, "replay", fmt.Sprintf("one LOG expected, got %d arguments", len(pos)))
	}
	if *at < -1 {
		return usageError(stderr, "replay", fmt.Sprintf("-at %d: want a record number", *at))
	}
	path := pos[0]
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "mls replay: %v\n", err)
		return 1
	}
	l, readErr := replay.ReadLog(data)
	if errors.Is(readErr, replay.ErrNotLog) {
		fmt.Fprintf(stderr, "mls replay: %s: %v\n", path, readErr)
		return 1
	}
	if l.Recovery.DroppedBytes > 0 {
		fmt.Fprintf(stderr, "mls replay: %s: dropped a torn final record (%d bytes)\n", path, l.Recovery.DroppedBytes)
	}
	// SIGINT stops the replay between two records: the history so far is
	// printed, then a line saying where it stopped, and the exit status
	// is 130. A long replay shows its progress on standard error.
	intr, stopIntr := notifyInterrupt()
	defer stopIntr()
	bar := newProgressFor(stderr, "replay", len(l.Records))
	interrupted := false
	recs := func(yield func(replay.Record, error) bool) {
		for i, r := range l.Records {
			select {
			case <-intr:
				interrupted = true
				yield(replay.Record{}, errInterrupted)
				return
			default:
			}
			bar.show(i, fmt.Sprintf("record %d of %d", i, len(l.Records)))
			if !yield(r, nil) {
				return
			}
		}
	}
	res, replayErr := replay.ReplayLogRecords(l, recs, nil)
	bar.done()
	if interrupted {
		replayErr = nil
	}
	if res == nil {
		fmt.Fprintf(stderr, "mls replay: %s: %v\n", path, replayErr)
		return 1
	}
	hist := history(res)

	failed := readErr != nil || replayErr != nil || interrupted
	var seq uint64
	var st state.GroupState
	haveState := !res.Public && len(res.Steps) > 0
	if haveState {
		seq = res.First + uint64(len(res.Steps)) - 1
		if *at >= 0 {
			var ok bool
			st, ok = res.StateAt(uint64(*at))
			if !ok {
				return usageError(stderr, "replay", fmt.Sprintf("-at %d: the log has records %d to %d", *at, res.First, seq))
			}
			seq = uint64(*at)
		} else {
			st = res.Final()
		}
	}

	if *asJSON {
		out := map[string]any{
			"log":      path,
			"header":   map[string]any{"format": l.Header.Format, "mode": l.Header.Mode.String(), "module": l.Header.Module, "policy": l.Header.PolicyID},
			"records":  len(l.Records),
			"verified": !failed && !res.Public,
		}
		if !*quiet {
			out["history"] = hist
		}
		if haveState {
			out["at"] = seq
			out["state"] = st.View()
		}
		if readErr != nil {
			out["error"] = readErr.Error()
		}
		if interrupted {
			out["interrupted"] = true
		}
		var d *replay.Divergence
		if errors.As(replayErr, &d) {
			out["divergence"] = map[string]any{"seq": d.Seq, "field": d.Field, "event": d.Event,
				"want": divergenceText(d.Field, d.Want), "got": divergenceText(d.Field, d.Got), "changed": replay.DiffViews(d.Before, d.After)}
		} else if replayErr != nil {
			out["error"] = replayErr.Error()
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		stdout.Write(append(b, '\n'))
	} else {
		fmt.Fprintf(stdout, "log %s: %s mode, format %d, %d records, module %s, policy %s\n",
			path, l.Header.Mode, l.Header.Format, len(l.Records), l.Header.Module, l.Header.PolicyID)
		switch {
		case l.Snapshot == nil:
		case l.Snapshot.Seq == 0:
			// Nothing was dropped: the snapshot is the state the log's
			// first record applies to.
			fmt.Fprintf(stdout, "starts from a snapshot of the state before record 0 (no records dropped)\n")
		default:
			fmt.Fprintf(stdout, "starts from a snapshot of the state after record %d (records 0 to %d dropped)\n", l.Snapshot.Seq-1, l.Snapshot.Seq-1)
		}
		if !*quiet {
			fmt.Fprintf(stdout, "%6s %6s  %-58s %s\n", "seq", "epoch", "event", "result")
			for _, h := range hist {
				fmt.Fprintf(stdout, "%6d %6s  %-58s %s\n", h.Seq, h.Epoch, h.Event, h.Result)
			}
		}
		switch {
		case res.Public:
			fmt.Fprintf(stdout, "public log: chain and %d events checked; no seeds, so no state was rebuilt\n", len(res.Steps))
		case !failed:
			fmt.Fprintf(stdout, "verified: %d records replay to their recorded outcomes, state digests and effects digests\n", len(res.Steps))
		}
		// After a failure, the last state that replayed is shown only on
		// request: the report on standard error says what went wrong.
		if haveState && (!failed || *at >= 0) {
			printState(stdout, seq, st)
		}
	}
	if readErr != nil {
		fmt.Fprintf(stderr, "mls replay: %s: %v\n", path, readErr)
	}
	if replayErr != nil {
		var d *replay.Divergence
		if errors.As(replayErr, &d) {
			fmt.Fprintf(stderr, "mls replay: %s: %v\n%s", path, replayErr, d.Report())
		} else {
			fmt.Fprintf(stderr, "mls replay: %s: %v\n", path, replayErr)
		}
	}
	if interrupted {
		fmt.Fprintf(stderr, "mls replay: %s: interrupted after %d of %d records\n", path, len(res.Steps), len(l.Records))
		return 130
	}
	if failed {
		return 1
	}
	return 0
}

func divergenceText(field string, b []byte) string {
	if field == "state" || field == "effects" {
		return hex.EncodeToString(b)
	}
	return string(b)
}

// historyLine is one record of the history.
type historyLine struct {
	Seq    uint64 `json:"seq"`
	Epoch  string `json:"epoch"`
	Event  string `json:"event"`
	Result string `json:"result"`
}

func history(res *replay.Result) []historyLine {
	var out []historyLine
	prev := res.Start
	for _, s := range res.Steps {
		h := historyLine{Seq: s.Record.Seq, Epoch: "-"}
		if s.Event != nil {
			h.Event = replay.Describe(s.Event)
		}
		if res.Public {
			h.Result = s.Record.Outcome.String()
			out = append(out, h)
			continue
		}
		if s.State.InGroup() {
			h.Epoch = fmt.Sprint(s.State.Epoch())
		}
		h.Result = changes(prev, s)
		out = append(out, h)
		prev = s.State
	}
	return out
}

// changes describes what a record did, from its outcome, its effects and
// the states before and after it.
func changes(before state.GroupState, s replay.Step) string {
	if s.Err != nil {
		return "rejected: " + s.Record.Outcome.String()
	}
	var parts []string
	if !before.InGroup() && s.State.InGroup() {
		if _, ok := before.StagedJoin(); !ok {
			parts = append(parts, fmt.Sprintf("created group %s at epoch %d as leaf %d", shortHex(s.State.GroupID(), 4), s.State.Epoch(), s.State.OwnLeaf()))
		}
	}
	for _, e := range s.Effects {
		switch e := e.(type) {
		case effects.SignatureKeyCreated:
			parts = append(parts, "signature key "+shortHex(e.PublicKey, 4))
		case effects.KeyPackageCreated:
			parts = append(parts, "key package "+shortHex(e.Ref, 4))
		case effects.SendToGroup:
			parts = append(parts, fmt.Sprintf("sent %s", kindName(e.Kind)))
		case effects.SendWelcome:
			parts = append(parts, fmt.Sprintf("welcome for %d", len(e.To)))
		case effects.PublishGroupInfo:
			parts = append(parts, "group info")
		case effects.DeliverApplication:
			parts = append(parts, fmt.Sprintf("delivered %d bytes from leaf %d", len(e.Data), e.Sender))
		case effects.ProposalReceived:
			parts = append(parts, "stored proposal "+shortHex(e.Ref, 4))
		case effects.CommitStaged:
			from := ""
			if e.Sender.SenderType == codec.SenderTypeMember {
				from = fmt.Sprintf(" from leaf %d", e.Sender.LeafIndex)
			}
			parts = append(parts, "staged commit"+from+leafList(" +", e.Added)+leafList(" -", e.Removed)+leafList(" ~", e.Updated))
		case effects.EpochAdvanced:
			parts = append(parts, fmt.Sprintf("epoch %d→%d%s%s", e.From, e.To, leafList(" +", e.Added), leafList(" -", e.Removed)))
		case effects.RemovedFromGroup:
			parts = append(parts, fmt.Sprintf("removed from the group in epoch %d", e.Epoch))
		case effects.WelcomeStaged:
			parts = append(parts, fmt.Sprintf("welcome to epoch %d as leaf %d of %d members, signed by leaf %d", e.Epoch, e.Self, e.Members, e.Signer))
		case effects.Joined:
			parts = append(parts, fmt.Sprintf("joined epoch %d as leaf %d", e.Epoch, e.Self))
		case effects.Exported:
			parts = append(parts, fmt.Sprintf("exported %q", e.Label))
		}
	}
	if len(parts) == 0 {
		if before.Digest() == s.State.Digest() {
			return "no change"
		}
		return "state changed"
	}
	return strings.Join(parts, "; ")
}

func kindName(k effects.ContentKind) string {
	switch k {
	case effects.KindApplication:
		return "application message"
	case effects.KindProposal:
		return "proposal"
	case effects.KindCommit:
		return "commit"
	}
	return fmt.Sprintf("kind %d", k)
}

func leafList[T ~uint32](prefix string, ls []T) string {
	if len(ls) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(prefix + "leaf")
	for i, l := range ls {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %d", l)
	}
	return b.String()
}

func printState(w io.Writer, seq uint64, st state.GroupState) {
	v := st.View()
	fmt.Fprintf(w, "\nstate after record %d:\n", seq)
	if !v.InGroup {
		if v.Joining {
			fmt.Fprintf(w, "  joining (a Welcome is staged)\n")
		} else {
			fmt.Fprintf(w, "  not in a group\n")
		}
		fmt.Fprintf(w, "  digest                     %s\n", v.Digest)
		return
	}
	status := "active"
	if !v.Active {
		status = "removed (inactive)"
	}
	fmt.Fprintf(w, "  group id                   %s\n", v.GroupID)
	fmt.Fprintf(w, "  cipher suite               %d\n", v.Suite)
	fmt.Fprintf(w, "  epoch                      %d (%s)\n", v.Epoch, status)
	fmt.Fprintf(w, "  own leaf                   %d\n", v.OwnLeaf)
	fmt.Fprintf(w, "  tree hash                  %s\n", v.TreeHash)
	fmt.Fprintf(w, "  confirmed transcript hash  %s\n", v.ConfirmedTranscriptHash)
	fmt.Fprintf(w, "  epoch authenticator        %s\n", v.EpochAuthenticator)
	fmt.Fprintf(w, "  pending commit %v, staged commit %v, %d stored proposals, %d past epochs kept\n",
		v.HasPending, v.HasStaged, len(v.Proposals), len(v.PastEpochs))
	fmt.Fprintf(w, "  members                    %d in %d leaves\n", len(v.Members), v.LeafCount)
	for _, m := range v.Members {
		self := ""
		if m.Leaf == v.OwnLeaf {
			self = "  (self)"
		}
		fmt.Fprintf(w, "    leaf %-4d %-12s signature key %s…%s\n", m.Leaf, m.Credential, m.SignatureKey[:min(16, len(m.SignatureKey))], self)
	}
	fmt.Fprintf(w, "  digest                     %s\n", v.Digest)
}
