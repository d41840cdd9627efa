package replay

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/mlscore/mlscore/codec"
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
	diffValue(&out, "", reflect.ValueOf(a), reflect.ValueOf(b))
	return out
}

const maxDiffLines = 40

func diffValue(out *[]string, path string, a, b reflect.Value) {
	if len(*out) >= maxDiffLines || reflect.DeepEqual(a.Interface(), b.Interface()) {
		return
	}
	switch a.Kind() {
	case reflect.Struct:
		for i := range a.NumField() {
			if !a.Type().Field(i).IsExported() {
				continue
			}
			name := a.Type().Field(i).Name
			if path != "" {
				name = path + "." + name
			}
			diffValue(out, name, a.Field(i), b.Field(i))
		}
		return
	case reflect.Slice:
		if a.Len() != b.Len() {
			*out = append(*out, fmt.Sprintf("%s: %d → %d entries", path, a.Len(), b.Len()))
		}
		for i := range max(a.Len(), b.Len()) {
			p := fmt.Sprintf("%s[%d]", path, i)
			switch {
			case i >= a.Len():
				*out = append(*out, fmt.Sprintf("%s: added %s", p, format(b.Index(i))))
			case i >= b.Len():
				*out = append(*out, fmt.Sprintf("%s: removed %s", p, format(a.Index(i))))
			default:
				diffValue(out, p, a.Index(i), b.Index(i))
			}
			if len(*out) >= maxDiffLines {
				*out = append(*out, "…")
				return
			}
		}
		return
	}
	*out = append(*out, fmt.Sprintf("%s: %s → %s", path, format(a), format(b)))
}

// format prints a value compactly, shortening long hex strings.
func format(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		if len(s) > 16 {
			return s[:16] + "…"
		}
		if s == "" {
			return `""`
		}
		return s
	case reflect.Struct:
		var parts []string
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				parts = append(parts, v.Type().Field(i).Name+":"+format(v.Field(i)))
			}
		}
		return "{" + strings.Join(parts, " ") + "}"
	case reflect.Slice:
		var parts []string
		for i := range min(v.Len(), 8) {
			parts = append(parts, format(v.Index(i)))
		}
		if v.Len() > 8 {
			parts = append(parts, fmt.Sprintf("… %d more", v.Len()-8))
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprint(v.Interface())
}
