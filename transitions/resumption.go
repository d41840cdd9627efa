package transitions

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/tree"
)

// ErrInvalidResumption reports a group founded with a resumption PSK of
// usage reinit or branch that does not match the old group the PSK names
// (RFC 9420, Sections 11.2 and 11.3), or such a PSK used where it may not
// be. A joiner's error wraps both it and ErrInvalidWelcome.
var ErrInvalidResumption = errors.New("mls: group does not match its resumption psk")

// Resumption is what a client keeps of one epoch of a group so that a
// group resumed from it (a reinitialized group or a subgroup, RFC 9420,
// Sections 11.2 and 11.3) can be founded and joined: the resumption_psk
// (Section 8.6) and the resumption context the joiner checks the new group
// against. The application stores it in Env.Keys with
// KeyStore.WithResumption (or answers ExternalPSK(ResumptionPSKID(GroupID,
// Epoch)) with EncodeResumption of it), so that the check is replayed from
// the log like every other key lookup. ResumptionOf fills it from the old
// group's state.
//
// [RFC 9420, Section 11.2]: https://www.rfc-editor.org/rfc/rfc9420#section-11.2
// [RFC 9420, Section 11.3]: https://www.rfc-editor.org/rfc/rfc9420#section-11.3
type Resumption struct {
	// GroupID and Epoch name the old group's epoch.
	GroupID []byte
	Epoch   uint64
	// Version and CipherSuite are the old group's; a zero Version means
	// that the context is unknown (only the secret is held), which
	// suffices for a resumption PSK of usage application but not to found
	// or join a reinitialized group or a subgroup.
	Version     codec.ProtocolVersion
	CipherSuite codec.CipherSuite
	// ReInit is the ReInit proposal that the commit starting Epoch
	// covered, closing the old group (Section 11.2), or nil.
	ReInit *codec.ReInit
	// Members are the credentials of the epoch's members in leaf order,
	// which the LeafNodes of a subgroup must match (Section 11.3); nil when
	// unknown.
	Members []codec.Credential
	// Secret is the epoch's resumption_psk.
	Secret []byte
}

// resumptionFormat versions EncodeResumption.
const resumptionFormat = 1

// EncodeResumption returns the encoding of r held under
// ResumptionPSKID(r.GroupID, r.Epoch): uint8 format, opaque group_id<V>,
// uint64 epoch, uint16 version, uint16 cipher_suite, optional<ReInit>,
// optional<Credential members<V>>, opaque secret<V>.
func EncodeResumption(r Resumption) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddUint8(resumptionFormat)
	codec.AddOpaque(&b, r.GroupID)
	b.AddUint64(r.Epoch)
	b.AddUint16(uint16(r.Version))
	b.AddUint16(uint16(r.CipherSuite))
	addBool(&b, r.ReInit != nil)
	if r.ReInit != nil {
		r.ReInit.Marshal(&b)
	}
	addBool(&b, r.Members != nil)
	if r.Members != nil {
		codec.AddVector(&b, func(b *cryptobyte.Builder) {
			for _, c := range r.Members {
				c.Marshal(b)
			}
		})
	}
	codec.AddOpaque(&b, r.Secret)
	return b.Bytes()
}

// DecodeResumption decodes what EncodeResumption encodes, strictly.
func DecodeResumption(data []byte) (Resumption, error) {
	d := codec.NewDecoder(data)
	var r Resumption
	if v := d.Uint8(); d.OK() && v != resumptionFormat {
		return r, fmt.Errorf("mls: resumption format %d, want %d", v, resumptionFormat)
	}
	r.GroupID = d.Opaque()
	r.Epoch = d.Uint64()
	r.Version = codec.ProtocolVersion(d.Uint16())
	r.CipherSuite = codec.CipherSuite(d.Uint16())
	if d.Optional() {
		r.ReInit = new(codec.ReInit)
		r.ReInit.Unmarshal(d)
	}
	if d.Optional() {
		r.Members = []codec.Credential{}
		d.VectorEach(func(d *codec.Decoder) {
			var c codec.Credential
			c.Unmarshal(d)
			r.Members = append(r.Members, c)
		})
	}
	r.Secret = d.Opaque()
	if err := d.Finish("Resumption"); err != nil {
		return Resumption{}, err
	}
	return r, nil
}

// ResumptionOf returns what s holds of its epoch epoch for resumption
// (RFC 9420, Sections 8.6, 11.2 and 11.3): the resumption_psk, the group's
// id, version and cipher suite, and for the current epoch also the members'
// credentials and the committed ReInit, if any. A retained past epoch
// (Config.ResumptionPSKs) has no Members: the state no longer holds them.
// The result shares nothing with s.
func ResumptionOf(s state.GroupState, epoch uint64) (Resumption, bool) {
	secret, ok := ResumptionPSKOf(s, epoch)
	if !ok {
		return Resumption{}, false
	}
	ctx := s.GroupContext()
	r := Resumption{GroupID: ctx.GroupID, Epoch: epoch, Version: ctx.Version, CipherSuite: ctx.CipherSuite, Secret: secret}
	if epoch == s.Epoch() {
		r.ReInit = s.Public().ReInit
		r.Members = []codec.Credential{}
		for _, ln := range s.Tree().SharedMembers(core.K()) {
			r.Members = append(r.Members, ln.Credential)
		}
	}
	// A round trip through the encoding copies every slice.
	b, err := EncodeResumption(r)
	if err != nil {
		return Resumption{}, false
	}
	c, err := DecodeResumption(b)
	if err != nil {
		return Resumption{}, false
	}
	return c, true
}

// WithResumption returns a store that also holds r under
// ResumptionPSKID(r.GroupID, r.Epoch).
func (k KeyStore) WithResumption(r Resumption) (KeyStore, error) {
	b, err := EncodeResumption(r)
	if err != nil {
		return k, err
	}
	return k.WithExternalPSK(ResumptionPSKID(r.GroupID, r.Epoch), b), nil
}

// foreignResumptionOf resolves another group's resumption entry through
// Env.Keys (ResumptionPSKID).
func foreignResumptionOf(id codec.PreSharedKeyID, env Env) (Resumption, error) {
	b, ok := env.Keys.ExternalPSK(ResumptionPSKID(id.PSKGroupID, id.PSKEpoch))
	if !ok {
		return Resumption{}, fmt.Errorf("%w: resumption psk of group %x epoch %d", ErrMissingKey, prefix(id.PSKGroupID), id.PSKEpoch)
	}
	r, err := DecodeResumption(b)
	if err != nil {
		return Resumption{}, fmt.Errorf("%w: resumption psk of group %x epoch %d: %w", ErrMissingKey, prefix(id.PSKGroupID), id.PSKEpoch, err)
	}
	if !equalBytes(r.GroupID, id.PSKGroupID) || r.Epoch != id.PSKEpoch {
		return Resumption{}, fmt.Errorf("%w: key store answers group %x epoch %d for group %x epoch %d", ErrInvalidResumption,
			prefix(r.GroupID), r.Epoch, prefix(id.PSKGroupID), id.PSKEpoch)
	}
	return r, nil
}

// checkResumed checks a group founded with the resumption PSK id of usage
// reinit or branch against the old epoch res the PSK names, for the
// founder before it sends the Welcome and for the joiner on receipt:
//
//   - reinit (RFC 9420, Section 11.2): the old epoch was started by a
//     commit covering a ReInit, and the new GroupContext's version,
//     cipher_suite, group_id and extensions are the ReInit's; epoch 1;
//     the new tree's members are the old epoch's (Section 12.4.2: "with
//     the same members as the original group"), matched as for branch;
//   - branch (Section 11.3): version and cipher_suite are the old group's,
//     epoch 1, and each LeafNode of the new tree matches some member of the
//     old epoch (Policy.MatchBranchMember, byte-equal credentials by
//     default).
//
// [RFC 9420, Section 11.2]: https://www.rfc-editor.org/rfc/rfc9420#section-11.2
// [RFC 9420, Section 11.3]: https://www.rfc-editor.org/rfc/rfc9420#section-11.3
func checkResumed(id codec.PreSharedKeyID, res Resumption, ctx codec.GroupContext, t tree.Tree, env Env) error {
	if ctx.Epoch != 1 {
		return fmt.Errorf("%w: a group resumed with a %d psk is at epoch %d, not 1", ErrInvalidResumption, id.Usage, ctx.Epoch)
	}
	if res.Version == 0 {
		return fmt.Errorf("%w: no resumption context of group %x epoch %d (only its secret)", ErrMissingKey, prefix(res.GroupID), res.Epoch)
	}
	switch id.Usage {
	case codec.ResumptionPSKUsageReInit:
		ri := res.ReInit
		if ri == nil {
			// Resumption PSKs with usage reinit MUST NOT be used in
			// other contexts: the old epoch must be the one after the
			// commit covering the ReInit.
			return fmt.Errorf("%w: reinit psk of group %x epoch %d, which no reinit ended", ErrInvalidResumption, prefix(res.GroupID), res.Epoch)
		}
		want, err := ri.Encode()
		if err != nil {
			return err
		}
		got, err := codec.ReInit{GroupID: ctx.GroupID, Version: ctx.Version, CipherSuite: ctx.CipherSuite, Extensions: ctx.Extensions}.Encode()
		if err != nil {
			return err
		}
		if !equalBytes(want, got) {
			return fmt.Errorf("%w: group context (version %d, suite %d, group %x, %d extensions) differs from the reinit (version %d, suite %d, group %x, %d extensions)",
				ErrInvalidResumption, ctx.Version, ctx.CipherSuite, prefix(ctx.GroupID), len(ctx.Extensions),
				ri.Version, ri.CipherSuite, prefix(ri.GroupID), len(ri.Extensions))
		}
		// "with the same members as the original group" (Section 12.4.2).
		return matchResumedMembers(res, t, env.Policy.MatchBranchMember, true)
	case codec.ResumptionPSKUsageBranch:
		if ctx.Version != res.Version || ctx.CipherSuite != res.CipherSuite {
			return fmt.Errorf("%w: subgroup version %d suite %d, old group version %d suite %d", ErrInvalidResumption,
				ctx.Version, ctx.CipherSuite, res.Version, res.CipherSuite)
		}
		return matchResumedMembers(res, t, env.Policy.MatchBranchMember, false)
	default:
		return fmt.Errorf("%w: resumption psk usage %d", ErrInvalidResumption, id.Usage)
	}
}

// matchResumedMembers checks the members of the resumed group's tree t
// against the old epoch's members res.Members with match (nil: the
// credentials encode identically): each new member must match an old one
// (a subgroup, Section 11.3) and, when same is set, each old member a new
// one as well (a reinitialized group keeps the membership, Section
// 12.4.2). The default match counts encodings in a map, so a large group
// costs O(N); a custom match compares every pair.
func matchResumedMembers(res Resumption, t tree.Tree, match func(old, new codec.Credential) bool, same bool) error {
	if res.Members == nil {
		return fmt.Errorf("%w: members of group %x epoch %d unknown", ErrMissingKey, prefix(res.GroupID), res.Epoch)
	}
	members := t.SharedMembers(core.K())
	what := "subgroup"
	if same {
		what = "reinitialized group"
	}
	if match == nil {
		count := make(map[string]int, len(res.Members))
		for _, c := range res.Members {
			b, err := c.Encode()
			if err != nil {
				return err
			}
			count[string(b)]++
		}
		n := 0
		for i, ln := range members {
			n++
			b, err := ln.Credential.Encode()
			if err != nil {
				return err
			}
			if count[string(b)] == 0 {
				return fmt.Errorf("%w: %s leaf %d matches no member of group %x epoch %d", ErrInvalidResumption, what, i, prefix(res.GroupID), res.Epoch)
			}
			if same {
				count[string(b)]--
			}
		}
		if same && n != len(res.Members) {
			return fmt.Errorf("%w: reinitialized group has %d members, group %x epoch %d had %d", ErrInvalidResumption, n, prefix(res.GroupID), res.Epoch, len(res.Members))
		}
		return nil
	}
	matched := make([]bool, len(res.Members))
	for i, ln := range members {
		found := false
		for j, old := range res.Members {
			if match(old, ln.Credential) {
				found, matched[j] = true, true
			}
		}
		if !found {
			return fmt.Errorf("%w: %s leaf %d matches no member of group %x epoch %d", ErrInvalidResumption, what, i, prefix(res.GroupID), res.Epoch)
		}
	}
	if same {
		for j, ok := range matched {
			if !ok {
				return fmt.Errorf("%w: member %d of group %x epoch %d is not in the reinitialized group", ErrInvalidResumption, j, prefix(res.GroupID), res.Epoch)
			}
		}
	}
	return nil
}
