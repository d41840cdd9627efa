package replay

import (
	"fmt"
	"strings"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
)

// Describe returns a one-line description of an event for histories and
// divergence reports, e.g. "Commit inline [add remove] path" or
// "Receive mls_public_message commit epoch 4 from leaf 2".
func Describe(ev transitions.Event) string {
	name := transitions.Name(ev)
	switch e := ev.(type) {
	case transitions.NewSignatureKey:
		return fmt.Sprintf("%s suite %d", name, e.Suite)
	case transitions.NewKeyPackage:
		return fmt.Sprintf("%s suite %d %s", name, e.Suite, credential(e.Credential))
	case transitions.CreateGroup:
		return fmt.Sprintf("%s suite %d %s", name, e.Suite, credential(e.Credential))
	case transitions.Propose:
		return fmt.Sprintf("%s %s", name, proposal(e.Proposal))
	case transitions.Commit:
		var parts []string
		for _, p := range e.Inline {
			parts = append(parts, proposal(p))
		}
		s := name
		if len(parts) > 0 {
			s += " inline [" + strings.Join(parts, " ") + "]"
		}
		if e.ForcePath {
			s += " path"
		}
		return s
	case transitions.Receive:
		return name + " " + message(e.Message)
	case transitions.JoinWelcome:
		return name + " " + message(e.Welcome)
	case transitions.Protect:
		return fmt.Sprintf("%s %d bytes", name, len(e.Data))
	case transitions.Export:
		return fmt.Sprintf("%s %q %d bytes", name, e.Label, e.Length)
	case transitions.DropProposal:
		return fmt.Sprintf("%s %x", name, short(e.Ref))
	}
	return name
}

func credential(c codec.Credential) string {
	if c.CredentialType == codec.CredentialBasic {
		return fmt.Sprintf("%q", c.Identity)
	}
	return fmt.Sprintf("credential type %d", c.CredentialType)
}

func proposal(p codec.Proposal) string {
	switch {
	case p.Remove != nil:
		return fmt.Sprintf("remove(%d)", p.Remove.Removed)
	case p.Add != nil:
		return "add(" + credential(p.Add.KeyPackage.LeafNode.Credential) + ")"
	}
	return p.ProposalType.String()
}

// message describes received MLSMessage bytes without decrypting them.
func message(b []byte) string {
	m, err := codec.DecodeMLSMessage(b)
	if err != nil {
		return fmt.Sprintf("%d undecodable bytes", len(b))
	}
	switch {
	case m.PublicMessage != nil:
		c := m.PublicMessage.Content
		s := fmt.Sprintf("%s %s epoch %d", m.WireFormat, c.ContentType, c.Epoch)
		if c.Sender.SenderType == codec.SenderTypeMember {
			s += fmt.Sprintf(" from leaf %d", c.Sender.LeafIndex)
		}
		return s
	case m.PrivateMessage != nil:
		return fmt.Sprintf("%s %s epoch %d", m.WireFormat, m.PrivateMessage.ContentType, m.PrivateMessage.Epoch)
	case m.Welcome != nil:
		return fmt.Sprintf("%s for %d", m.WireFormat, len(m.Welcome.Secrets))
	}
	return m.WireFormat.String()
}

// DiffViews lists the differences between two views, one line per changed
// field ("Epoch: 3 → 4", "Members: 4 → 5 entries", "Members[4]: added
// {...}"), hex strings shortened. It is the structural diff of divergence
// reports and of `mls replay`; tests use go-cmp instead.
func DiffViews(a, b state.View) []string {
	var out []string
	diffValue(&out, "", viewValue(a), viewValue(b))
	return out
}

const maxDiffLines = 40

// value is a field of a View as DiffViews compares and prints it: a
// scalar (formatted), a string, a list, or a struct's fields.
type value struct {
	kind   valueKind
	text   string   // scalar and str
	elems  []value  // list; the fields of a struct
	fields []string // struct: the field names
}

type valueKind uint8

const (
	scalarValue valueKind = iota
	strValue
	listValue
	structValue
)

func scalar(v any) value { return value{kind: scalarValue, text: fmt.Sprint(v)} }
func str(s string) value { return value{kind: strValue, text: s} }

func list[T any](xs []T, f func(T) value) value {
	v := value{kind: listValue, elems: make([]value, len(xs))}
	for i, x := range xs {
		v.elems[i] = f(x)
	}
	return v
}

// fields builds a struct value from name, value pairs.
func fields(nv ...any) value {
	v := value{kind: structValue}
	for i := 0; i < len(nv); i += 2 {
		v.fields = append(v.fields, nv[i].(string))
		v.elems = append(v.elems, nv[i+1].(value))
	}
	return v
}

// viewValue lists every field of a View (a test checks that none is left
// out).
func viewValue(v state.View) value {
	u16 := func(x uint16) value { return scalar(x) }
	u32 := func(x uint32) value { return scalar(x) }
	u64 := func(x uint64) value { return scalar(x) }
	c := v.Config
	return fields(
		"InGroup", scalar(v.InGroup), "Joining", scalar(v.Joining), "Active", scalar(v.Active),
		"Suite", scalar(v.Suite), "GroupID", str(v.GroupID), "Epoch", scalar(v.Epoch),
		"TreeHash", str(v.TreeHash), "ConfirmedTranscriptHash", str(v.ConfirmedTranscriptHash),
		"InterimTranscriptHash", str(v.InterimTranscriptHash), "Extensions", list(v.Extensions, u16),
		"OwnLeaf", scalar(v.OwnLeaf), "LeafCount", scalar(v.LeafCount),
		"Members", list(v.Members, func(m state.MemberView) value {
			return fields("Leaf", scalar(m.Leaf), "Credential", str(m.Credential), "SignatureKey", str(m.SignatureKey), "EncryptionKey", str(m.EncryptionKey))
		}),
		"Proposals", list(v.Proposals, func(p state.ProposalView) value {
			return fields("Ref", str(p.Ref), "Type", scalar(p.Type), "Sender", scalar(p.Sender))
		}),
		"Config", fields(
			"WireFormat", fields("Outgoing", scalar(c.WireFormat.Outgoing), "Incoming", scalar(c.WireFormat.Incoming)),
			"PaddingSize", scalar(c.PaddingSize), "MaxPastEpochs", scalar(c.MaxPastEpochs), "MaxPastEpochAge", scalar(c.MaxPastEpochAge), "ResumptionPSKs", scalar(c.ResumptionPSKs),
			"RatchetTreeExtension", scalar(c.RatchetTreeExtension),
			"SenderRatchet", fields("OutOfOrderTolerance", scalar(c.SenderRatchet.OutOfOrderTolerance), "MaximumForwardDistance", scalar(c.SenderRatchet.MaximumForwardDistance)),
		),
		"EpochAuthenticator", str(v.EpochAuthenticator),
		"Ratchets", list(v.Ratchets, func(r keysched.RatchetPosition) value {
			return fields("Leaf", scalar(r.Leaf), "HandshakeNext", scalar(r.HandshakeNext), "AppNext", scalar(r.AppNext),
				"HandshakeKept", list(r.HandshakeKept, u32), "AppKept", list(r.AppKept, u32))
		}),
		"PastEpochs", list(v.PastEpochs, u64), "ResumptionEpochs", list(v.ResumptionEpochs, u64),
		"HasPending", scalar(v.HasPending), "HasStaged", scalar(v.HasStaged), "ReInitPending", scalar(v.ReInitPending),
		"Digest", str(v.Digest),
	)
}

// equal reports whether a and b are the same value.
func (a value) equal(b value) bool {
	if a.kind != b.kind || a.text != b.text || len(a.elems) != len(b.elems) {
		return false
	}
	for i := range a.elems {
		if !a.elems[i].equal(b.elems[i]) {
			return false
		}
	}
	return true
}

func diffValue(out *[]string, path string, a, b value) {
	if len(*out) >= maxDiffLines || a.equal(b) {
		return
	}
	switch a.kind {
	case structValue:
		for i, name := range a.fields {
			if path != "" {
				name = path + "." + name
			}
			diffValue(out, name, a.elems[i], b.elems[i])
		}
		return
	case listValue:
		if len(a.elems) != len(b.elems) {
			*out = append(*out, fmt.Sprintf("%s: %d → %d entries", path, len(a.elems), len(b.elems)))
		}
		for i := range max(len(a.elems), len(b.elems)) {
			p := fmt.Sprintf("%s[%d]", path, i)
			switch {
			case i >= len(a.elems):
				*out = append(*out, fmt.Sprintf("%s: added %s", p, b.elems[i].format()))
			case i >= len(b.elems):
				*out = append(*out, fmt.Sprintf("%s: removed %s", p, a.elems[i].format()))
			default:
				diffValue(out, p, a.elems[i], b.elems[i])
			}
			if len(*out) >= maxDiffLines {
				*out = append(*out, "…")
				return
			}
		}
		return
	}
	*out = append(*out, fmt.Sprintf("%s: %s → %s", path, a.format(), b.format()))
}

// format prints a value compactly, shortening long hex strings.
func (v value) format() string {
	switch v.kind {
	case strValue:
		if len(v.text) > 16 {
			return v.text[:16] + "…"
		}
		if v.text == "" {
			return `""`
		}
		return v.text
	case structValue:
		parts := make([]string, len(v.elems))
		for i, e := range v.elems {
			parts[i] = v.fields[i] + ":" + e.format()
		}
		return "{" + strings.Join(parts, " ") + "}"
	case listValue:
		var parts []string
		for _, e := range v.elems[:min(len(v.elems), 8)] {
			parts = append(parts, e.format())
		}
		if len(v.elems) > 8 {
			parts = append(parts, fmt.Sprintf("… %d more", len(v.elems)-8))
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return v.text
}
