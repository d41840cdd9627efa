package replay

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// maxRejectionLines bounds the rejected messages Text lists per member.
const maxRejectionLines = 5

// Text writes the report for a reader: the logs, the views, and for each
// split the last agreed epoch, what each member did next, the cause, what
// the members saw afterwards and the recovery.
func (r *DiffReport) Text(w io.Writer) error {
	var b strings.Builder
	if !r.SameGroup {
		fmt.Fprintf(&b, "the logs are not of the same group:\n")
		for _, m := range r.Members {
			g := m.Group
			if g == "" {
				g = "(no group)"
			}
			fmt.Fprintf(&b, "  %-20s group %s\n", m.Name, g)
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	r.writeMembers(&b)
	if len(r.Views) == 0 {
		b.WriteString("\nno member of the group is in it\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	if r.Agree {
		v := r.Views[0]
		fmt.Fprintf(&b, "\nagree: every member is in epoch %d", v.Epoch)
		if v.Authenticator != "" {
			fmt.Fprintf(&b, " with epoch authenticator %s…", short8(v.Authenticator))
		} else {
			fmt.Fprintf(&b, " with confirmed transcript hash %s…", short8(v.TranscriptHash))
		}
		b.WriteString("\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "\n%d views:\n", len(r.Views))
	for i, v := range r.Views {
		id := "authenticator " + short8(v.Authenticator) + "…"
		if v.Authenticator == "" {
			id = "transcript hash " + short8(v.TranscriptHash) + "…"
		}
		fmt.Fprintf(&b, "  view %d: %s — epoch %d, %s\n", i+1, strings.Join(v.Members, ", "), v.Epoch, id)
	}
	for _, sp := range r.Splits {
		r.writeSplit(&b, sp)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeMembers writes the report's logs, the members not compared and
// the logs found to be of one member.
func (r *DiffReport) writeMembers(b *strings.Builder) {
	fmt.Fprintf(b, "group %s, %d logs\n", r.Group, len(r.Members))
	for _, m := range r.Members {
		who := m.Identity
		if who == "" {
			who = "?"
		}
		auth := ""
		if m.Authenticator != "" {
			auth = ", authenticator " + short8(m.Authenticator) + "…"
		}
		fmt.Fprintf(b, "  %-20s %s, %d records; %s at leaf %d, epoch %d%s\n", m.Name, m.Mode, m.Records, who, m.Leaf, m.Epoch, auth)
		for _, n := range m.Notes {
			fmt.Fprintf(b, "  %-20s note: %s\n", "", n)
		}
	}
	for _, o := range r.Outside {
		fmt.Fprintf(b, "not compared: %s was never in the group\n", o)
	}
	for _, x := range r.Removed {
		by := ""
		if x.By != nil {
			by = " by " + x.By.String()
		}
		fmt.Fprintf(b, "not compared: %s was removed from the group in epoch %d%s (record %d)\n", x.Member, x.Epoch, by, x.Seq)
	}
	for _, l := range r.Lineages {
		shared := "no record in common"
		if l.Shared > 0 {
			shared = fmt.Sprintf("the same records up to record %d", l.Shared-1)
		}
		fmt.Fprintf(b, "same member: %s and %s are logs of one member (one signature key) with %s, then different records from record %d on (epochs %d and %d): one was restored from an older copy and went on — its state was rolled back\n",
			l.Members[0], l.Members[1], shared, l.Fork, l.Epochs[0], l.Epochs[1])
	}
}

// writeSplit writes one split: the last agreed epoch, what each member did
// next, the cause, what the members saw afterwards and the recovery.
func (r *DiffReport) writeSplit(b *strings.Builder, sp DiffSplit) {
	fmt.Fprintf(b, "\nsplit between view %d and view %d\n", sp.Views[0]+1, sp.Views[1]+1)
	if a := sp.LastAgreed; a != nil {
		id := "authenticator " + short8(a.Authenticator) + "…"
		if a.Authenticator == "" {
			id = "transcript hash " + short8(a.TranscriptHash) + "…"
		}
		var recs []string
		for _, m := range r.Members {
			if s, ok := a.Records[m.Name]; ok {
				if slices.Contains(a.FromSnapshot, m.Name) {
					recs = append(recs, fmt.Sprintf("%s from its snapshot, before record %d", m.Name, s))
				} else {
					recs = append(recs, fmt.Sprintf("%s record %d", m.Name, s))
				}
			}
		}
		fmt.Fprintf(b, "  last agreed: epoch %d, %s (%s)\n", a.Epoch, id, strings.Join(recs, ", "))
	}
	if len(sp.First) > 0 {
		fmt.Fprintf(b, "  then:\n")
		for _, e := range sp.First {
			fmt.Fprintf(b, "    %s, record %d: %s\n", e.Member, e.Seq, e.What)
		}
	}
	fmt.Fprintf(b, "  cause: %s — %s\n", sp.Cause, sp.Summary)
	for _, d := range sp.Details {
		fmt.Fprintf(b, "    %s\n", d)
	}
	writeAfterwards(b, sp)
	writeRecovery(b, sp)
}

// writeAfterwards writes the messages the members rejected after a split,
// at most maxRejectionLines per member.
func writeAfterwards(b *strings.Builder, sp DiffSplit) {
	if len(sp.Afterwards) == 0 {
		return
	}
	fmt.Fprintf(b, "  afterwards:\n")
	count := map[string]int{}
	for _, x := range sp.Afterwards {
		count[x.Member]++
	}
	shown := map[string]int{}
	for _, x := range sp.Afterwards {
		shown[x.Member]++
		if n := shown[x.Member]; n > maxRejectionLines {
			if n == maxRejectionLines+1 {
				fmt.Fprintf(b, "    %s: … and %d more rejected\n", x.Member, count[x.Member]-maxRejectionLines)
			}
			continue
		}
		why := x.Detail
		if why == "" {
			why = x.Outcome
		}
		fmt.Fprintf(b, "    %s, record %d: %s: %s\n", x.Member, x.Seq, x.Event, why)
	}
}

// writeRecovery writes a split's recovery: the API calls and the commits.
func writeRecovery(b *strings.Builder, sp DiffSplit) {
	fmt.Fprintf(b, "  recovery (keeps view %d):\n", sp.Winner+1)
	for _, rc := range sp.Recovery {
		if rc.Alternative {
			fmt.Fprintf(b, "    or, if that cannot be done (the delivery service no longer holds the commits), re-join by external commit:\n")
		}
		for _, a := range rc.API {
			fmt.Fprintf(b, "    %s\n", a)
		}
		for _, c := range rc.Commits {
			where := ""
			if c.FoundIn != "" {
				where = fmt.Sprintf(" — its bytes are at record %d of %s (-json prints them)", c.Seq, c.FoundIn)
			}
			fmt.Fprintf(b, "      %s%s\n", c.String(), where)
		}
	}
}
