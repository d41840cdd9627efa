package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/sim"
)

const diffUsage = `usage: mls diff [-json] LOG LOG [LOG...]

Diff explains why members' views of a group split. It replays each
member's event log (full, snapshot-and-tail or public), recovers the epochs
the member went through with their epoch authenticators, the commits it
sent, confirmed, received, merged, rejected or discarded, and the messages
it could not read; groups the members into views (same epoch, same
authenticator); and for each pair of views prints:

  - the last epoch both held, and what each member did next;
  - the cause: a commit one side never received, rejected (with its rule
    and detail), discarded or left staged; two commits accepted for one
    epoch; a pending commit merged after the delivery service chose
    another; a state rolled back (restored from an older snapshot);
  - what the members saw afterwards: the messages they rejected, and why;
  - the recovery, as operations of the mls API: process the missing
    commits (whose bytes -json prints), or re-join by an external commit
    (Group.GroupInfo, Group.Resync).

A snapshot-and-tail log knows nothing before its snapshot and a public log
knows no secret; the report says what could not be known.

Exit status: 0 the logs agree; 1 the views differ (the report says why);
2 usage error, or a file that is not a readable log; 3 the logs are not of
the same group.
`

// Exit statuses of mls diff.
const (
	diffAgree        = 0
	diffSplit        = 1
	diffTrouble      = 2
	diffOtherGroups  = 3
	diffMinimumFiles = 2
)

func runDiff(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("diff", stderr)
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	fs.Usage = func() {
		fmt.Fprint(stderr, diffUsage)
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	paths, err := parseInterleaved(fs, args)
	if err != nil {
		if parseStatus(err) == 0 {
			return 0
		}
		return diffTrouble
	}
	if len(paths) < diffMinimumFiles {
		usageError(stderr, "diff", fmt.Sprintf("at least %d LOGs expected, got %d", diffMinimumFiles, len(paths)))
		return diffTrouble
	}
	names := logNames(paths)
	var in []replay.DiffInput
	for i, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(stderr, "mls diff: %v\n", err)
			return diffTrouble
		}
		l, err := replay.ReadLog(data)
		if errors.Is(err, replay.ErrNotLog) {
			fmt.Fprintf(stderr, "mls diff: %s: %v\n", p, err)
			return diffTrouble
		}
		if err != nil {
			// The records before the damage are still evidence.
			fmt.Fprintf(stderr, "mls diff: %s: %v; using the %d records before it\n", p, err, len(l.Records))
		}
		if l.Recovery.DroppedBytes > 0 {
			fmt.Fprintf(stderr, "mls diff: %s: dropped a torn final record (%d bytes)\n", p, l.Recovery.DroppedBytes)
		}
		in = append(in, replay.DiffInput{Name: names[i], Log: l})
	}
	rep, err := replay.Diff(in, nil)
	if err != nil {
		fmt.Fprintf(stderr, "mls diff: %v\n", err)
		return diffTrouble
	}
	if *asJSON {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			fmt.Fprintf(stderr, "mls diff: %v\n", err)
			return diffTrouble
		}
		stdout.Write(append(b, '\n'))
	} else if err := rep.Text(stdout); err != nil {
		fmt.Fprintf(stderr, "mls diff: %v\n", err)
		return diffTrouble
	}
	switch {
	case !rep.SameGroup:
		return diffOtherGroups
	case rep.Agree:
		return diffAgree
	}
	return diffSplit
}

// logNames names each log by its file name without the .mlslog
// extension, or by its path where two names collide.
func logNames(paths []string) []string {
	name := func(p string) string { return strings.TrimSuffix(filepath.Base(p), ".mlslog") }
	count := map[string]int{}
	for _, p := range paths {
		count[name(p)]++
	}
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = name(p)
		if count[out[i]] > 1 {
			out[i] = p
		}
	}
	return out
}

// demoFaults are the faults mls demo -fault injects after its run, to
// produce logs for mls diff.
var demoFaults = []string{"dropped-commit", "double-accept", "merged-after-losing", "rolled-back"}

// injectFault splits the simulated group with a fault (demoFaults), among
// its first active members a and b, then has a send a message that the
// members on the other side cannot read. It returns a line saying what it
// did.
func injectFault(s *sim.Sim, kind string) (string, error) {
	act := s.Active()
	if len(act) < 3 {
		return "", fmt.Errorf("-fault needs a group of at least 3 members")
	}
	a, b := act[0], act[1]
	var what string
	switch kind {
	case "dropped-commit":
		if _, err := s.DropCommit(a, b); err != nil {
			return "", err
		}
		what = fmt.Sprintf("%s's commit was never delivered to %s", a.Name, b.Name)
	case "double-accept":
		var toA []*sim.Member
		for i, m := range act[2:] {
			if i%2 == 0 {
				toA = append(toA, m)
			}
		}
		if err := s.AcceptBoth(a, b, toA...); err != nil {
			return "", err
		}
		what = fmt.Sprintf("the delivery service accepted both %s's and %s's commits for one epoch", a.Name, b.Name)
	case "merged-after-losing":
		if err := s.MergeAfterLosing(a, b); err != nil {
			return "", err
		}
		what = fmt.Sprintf("%s merged its pending commit after %s's won", b.Name, a.Name)
	case "rolled-back":
		snap, err := s.Backup(b)
		if err != nil {
			return "", err
		}
		if err := s.CommitUpdate(b); err != nil {
			return "", err
		}
		if err := s.Restore(b, snap); err != nil {
			return "", err
		}
		what = fmt.Sprintf("%s was restored from a snapshot taken before its last commit", b.Name)
	default:
		return "", fmt.Errorf("unknown fault %q (one of %s)", kind, strings.Join(demoFaults, ", "))
	}
	failed, err := s.SendNow(a)
	if err != nil {
		return "", err
	}
	could := "members"
	if len(failed) == 1 {
		could = "member"
	}
	return fmt.Sprintf("fault     %s; %d %s could not read %s's next message", what, len(failed), could, a.Name), nil
}
