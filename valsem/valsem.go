// Package valsem owns the validation rules of mlscore: one Code per rule,
// the *Error that carries a Code with a detail, and the Catalog that lists
// every rule with its summary and the RFC 9420 section it comes from.
//
// The numbering is OpenMLS's published ValSem numbering (gaps included), so
// that a rule reads the same in both projects. A Code is itself an error, as
// crypto/tls's alert is, so callers test for a rule with errors.Is:
//
//	if errors.Is(err, valsem.ValSem103) { ... }
package valsem

import "fmt"

// Code identifies one validation rule. It implements error, so a rule can be
// matched with errors.Is on any error built with Errorf.
type Code uint16

// The validation rules. Each constant's comment states the rule.
const (
	// ValSem002: the group id of a message must match the group's.
	ValSem002 Code = 2
	// ValSem003: the epoch of a message must match the group's (or, for
	// application messages, a past epoch retained within the window of
	// state.Config.MaxPastEpochs and MaxPastEpochAge).
	ValSem003 Code = 3
	// ValSem004: a member sender must point to a non-blank leaf.
	ValSem004 Code = 4
	// ValSem005: application messages must use PrivateMessage.
	ValSem005 Code = 5
	// ValSem006: decryption of a PrivateMessage must succeed.
	ValSem006 Code = 6
	// ValSem007: a PublicMessage from a member must carry a membership tag.
	ValSem007 Code = 7
	// ValSem008: the membership tag must verify.
	ValSem008 Code = 8
	// ValSem009: a commit must carry a confirmation tag.
	ValSem009 Code = 9
	// ValSem010: the signature must verify.
	ValSem010 Code = 10
	// ValSem011: PrivateMessageContent padding must be all zero.
	ValSem011 Code = 11

	// ValSem101: an Add's signature key must be unique among proposals and members.
	ValSem101 Code = 101
	// ValSem102: an Add's init key must be unique among proposals.
	ValSem102 Code = 102
	// ValSem103: an Add's encryption key must be unique among proposals and members.
	ValSem103 Code = 103
	// ValSem104: an Add's init key and encryption key must differ.
	ValSem104 Code = 104
	// ValSem105: an Add's ciphersuite and protocol version must match the group's.
	ValSem105 Code = 105
	// ValSem106: an Add's leaf must support the group's required capabilities.
	ValSem106 Code = 106
	// ValSem107: a removed member must be unique among proposals.
	ValSem107 Code = 107
	// ValSem108: a removed member must be an existing member.
	ValSem108 Code = 108
	// ValSem109: an Update's leaf must support the group's required capabilities.
	ValSem109 Code = 109
	// ValSem110: an Update's encryption key must be unique among proposals and members.
	ValSem110 Code = 110
	// ValSem111: the sender of a full commit must not include its own Update proposals.
	ValSem111 Code = 111
	// ValSem112: the sender type must fit the content (e.g. an Update only from a member).
	ValSem112 Code = 112
	// ValSem113: every proposal type must be supported by all members.
	ValSem113 Code = 113

	// ValSem200: a commit must not cover an inline Remove of its sender.
	ValSem200 Code = 200
	// ValSem201: a path must be present if a covered proposal requires one.
	ValSem201 Code = 201
	// ValSem202: a path must have the right length.
	ValSem202 Code = 202
	// ValSem203: path secrets must decrypt.
	ValSem203 Code = 203
	// ValSem204: path public keys must match those derived from the path secrets.
	ValSem204 Code = 204
	// ValSem205: the confirmation tag must verify.
	ValSem205 Code = 205
	// ValSem206: a path's leaf encryption key must be unique among proposals and members.
	ValSem206 Code = 206
	// ValSem207: a path's parent encryption keys must be unique among proposals and members.
	ValSem207 Code = 207
	// ValSem208: at most one GroupContextExtensions proposal per commit.
	ValSem208 Code = 208
	// ValSem209: GroupContextExtensions may only hold extensions all members support.
	ValSem209 Code = 209

	// ValSem240: an external commit must cover at least one inline ExternalInit.
	ValSem240 Code = 240
	// ValSem241: an external commit must cover at most one inline ExternalInit.
	ValSem241 Code = 241
	// ValSem242: an external commit may only cover inline ExternalInit, Remove and PreSharedKey.
	ValSem242 Code = 242
	// ValSem244: an external commit must not cover proposals by reference.
	ValSem244 Code = 244
	// ValSem245: an external commit must contain a path.
	ValSem245 Code = 245
	// ValSem246: an external commit's signature must verify with the path leaf's key.
	ValSem246 Code = 246

	// ValSem300: exported ratchet trees must not have trailing blank nodes.
	ValSem300 Code = 300

	// ValSem400: the number of stored resumption PSKs is bounded.
	ValSem400 Code = 400
	// ValSem401: a PreSharedKeyID nonce must have length KDF.Nh.
	ValSem401 Code = 401
	// ValSem402: a proposed PSK must be External, or Resumption with usage application.
	ValSem402 Code = 402
	// ValSem403: a proposal list must not reference the same PreSharedKeyID twice.
	ValSem403 Code = 403
)

// Rule describes one validation rule.
type Rule struct {
	Code    Code   // the rule's code
	Summary string // one-line statement of the rule
	Section string // RFC 9420 section the rule implements, e.g. "6.3.2"
	// Enforcer names the functions whose checks return the rule's error,
	// package-qualified and comma-separated, e.g.
	// "transitions.(*group).frame" or "tree.Tree.MergePath" (a method of a
	// value receiver). A test of package valsem/internal/gendoc checks
	// that each exists and references the rule's constant.
	Enforcer string
	// Property is the property test of package props that covers the
	// rule, "TestValSemNNN"; props.TestCatalogCoverage checks it exists.
	Property string
}

// Catalog returns every rule, ordered by code. The slice is a fresh copy.
// docs/validation.md is generated from it (go generate ./valsem).
func Catalog() []Rule {
	return []Rule{
		{ValSem002, "group id must match the group", "6.3", "transitions.(*group).frame", "TestValSem002"},
		{ValSem003, "epoch must match the group (or a retained past epoch)", "6.3", "transitions.(*group).frame, transitions.(*group).checkPastAge", "TestValSem003"},
		{ValSem004, "member sender must point to a non-blank leaf", "6.3", "transitions.(*group).frame, transitions.(*group).authenticate, transitions.(*pipeline).checkUpdate", "TestValSem004"},
		{ValSem005, "application messages must use PrivateMessage", "6.2", "keysched.unprotectPublicWire", "TestValSem005"},
		{ValSem006, "PrivateMessage decryption must succeed", "6.3.2", "keysched.DecryptSenderData, keysched.UnprotectPrivateWire", "TestValSem006"},
		{ValSem007, "member PublicMessage must carry a membership tag", "6.2", "keysched.verifyMembershipTag", "TestValSem007"},
		{ValSem008, "membership tag must verify", "6.2", "keysched.verifyMembershipTag", "TestValSem008"},
		{ValSem009, "commit must carry a confirmation tag", "6.1", "keysched.checkConfirmationTagPresent", "TestValSem009"},
		{ValSem010, "signature must verify", "6.1", "keysched.verifyTBS", "TestValSem010"},
		{ValSem011, "PrivateMessageContent padding must be all zero", "6.3.1", "keysched.UnprotectPrivateWire", "TestValSem011"},
		{ValSem101, "Add: signature key unique among proposals and members", "12.2", "transitions.(*pipeline).checkAdd", "TestValSem101"},
		{ValSem102, "Add: init key unique among proposals", "12.2", "transitions.(*pipeline).checkAdd", "TestValSem102"},
		{ValSem103, "Add: encryption key unique among proposals and members", "12.2", "transitions.(*pipeline).checkAdd", "TestValSem103"},
		{ValSem104, "Add: init key and encryption key differ", "10.1", "transitions.validateKeyPackage", "TestValSem104"},
		{ValSem105, "Add: ciphersuite and protocol version match the group", "12.1.1", "transitions.validateKeyPackage", "TestValSem105"},
		{ValSem106, "Add: leaf supports required capabilities", "12.1.1", "transitions.validateKeyPackage", "TestValSem106"},
		{ValSem107, "Remove: removed member unique among proposals", "12.2", "transitions.(*pipeline).checkRemoval", "TestValSem107"},
		{ValSem108, "Remove: removed member is a member", "12.1.3", "transitions.(*pipeline).checkRemoval", "TestValSem108"},
		{ValSem109, "Update: leaf supports required capabilities", "12.1.2", "transitions.(*pipeline).checkUpdate", "TestValSem109"},
		{ValSem110, "Update: encryption key unique among proposals and members", "12.2", "transitions.(*pipeline).checkUpdate", "TestValSem110"},
		{ValSem111, "Update: committer must not include its own Update", "12.2", "transitions.(*pipeline).checkKind", "TestValSem111"},
		{ValSem112, "sender type must fit the content", "6.1", "transitions.(*group).frameNonMember, transitions.(*pipeline).checkKind", "TestValSem112"},
		{ValSem113, "proposal type supported by all members", "12.2", "transitions.(*pipeline).checkCustom", "TestValSem113"},
		{ValSem200, "commit must not cover an inline Remove of its sender", "12.2", "transitions.(*pipeline).checkRemoval", "TestValSem200"},
		{ValSem201, "path present if a proposal requires one", "12.4", "transitions.(*group).commitProposals", "TestValSem201"},
		{ValSem202, "path has the right length", "12.4.2", "tree.Tree.MergePath, tree.Tree.DecryptPath", "TestValSem202"},
		{ValSem203, "path secrets decrypt", "12.4.2", "tree.Tree.DecryptPath", "TestValSem203"},
		{ValSem204, "path public keys match the derived keys", "12.4.2", "tree.Tree.DecryptPath, tree.PrivatePath.Join", "TestValSem204"},
		{ValSem205, "confirmation tag verifies", "12.4.2", "transitions.(*group).commitEpoch", "TestValSem205"},
		{ValSem206, "path leaf encryption key unique among proposals and members", "7.3", "tree.Tree.mergePath", "TestValSem206"},
		{ValSem207, "path parent encryption keys unique among proposals and members", "7.9", "tree.Tree.mergePath", "TestValSem207"},
		{ValSem208, "at most one GroupContextExtensions proposal per commit", "12.2", "transitions.(*pipeline).checkGCE", "TestValSem208"},
		{ValSem209, "GroupContextExtensions only with extensions all members support", "12.1.7", "transitions.(*pipeline).checkGCE, transitions.checkGCE", "TestValSem209"},
		{ValSem240, "external commit covers at least one inline ExternalInit", "12.4.3.2", "transitions.checkExternalCommitProposals", "TestValSem240"},
		{ValSem241, "external commit covers at most one inline ExternalInit", "12.4.3.2", "transitions.checkExternalCommitProposals", "TestValSem241"},
		{ValSem242, "external commit covers only inline ExternalInit, Remove, PreSharedKey", "12.2", "transitions.checkExternalCommitProposals", "TestValSem242"},
		{ValSem244, "external commit covers no proposals by reference", "12.4.3.2", "transitions.checkExternalCommitProposals", "TestValSem244"},
		{ValSem245, "external commit contains a path", "12.4.3.2", "transitions.(*group).frameNonMember", "TestValSem245"},
		{ValSem246, "external commit signature verifies with the path leaf's key", "12.4.3.2", "transitions.(*group).unprotectPublic", "TestValSem246"},
		{ValSem300, "exported ratchet trees have no trailing blank nodes", "12.4.3.3", "tree.fromNodes", "TestValSem300"},
		{ValSem400, "stored resumption PSKs are bounded", "8.6", "transitions.(*group).resumptionSecret, state.Config.Check, transitions.checkConfig", "TestValSem400"},
		{ValSem401, "PreSharedKeyID nonce has length KDF.Nh", "8.4", "transitions.checkPSKID", "TestValSem401"},
		{ValSem402, "proposed PSK is External, or Resumption with usage application", "8.4", "transitions.checkPSKID, transitions.welcomePSKs", "TestValSem402"},
		{ValSem403, "no PreSharedKeyID twice in one proposal list", "12.2", "transitions.checkPSKID", "TestValSem403"},
	}
}

// Lookup returns the rule for c and whether c is a known rule.
func Lookup(c Code) (Rule, bool) {
	for _, r := range Catalog() {
		if r.Code == c {
			return r, true
		}
	}
	return Rule{}, false
}

// String returns the code's name, e.g. "ValSem103".
func (c Code) String() string { return fmt.Sprintf("ValSem%03d", uint16(c)) }

// Error implements error: "mls: ValSem103: <summary>".
func (c Code) Error() string {
	if r, ok := Lookup(c); ok {
		return "mls: " + c.String() + ": " + r.Summary
	}
	return "mls: " + c.String()
}

// Error is a validation failure: the rule it breaks, a detail naming the
// offending field or value, and optionally an underlying cause.
type Error struct {
	Code   Code   // the rule broken
	Detail string // what exactly was wrong
	Err    error  // underlying cause, may be nil
}

// Errorf builds an *Error for rule c with a formatted detail.
func Errorf(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Detail: fmt.Sprintf(format, args...)}
}

// Wrap builds an *Error for rule c that wraps cause.
func Wrap(c Code, cause error, detail string) *Error {
	return &Error{Code: c, Detail: detail, Err: cause}
}

// Error implements error: "mls: ValSem103: <detail>".
func (e *Error) Error() string {
	s := "mls: " + e.Code.String() + ": " + e.Detail
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is e's Code, so errors.Is(err, ValSemNNN) works.
func (e *Error) Is(target error) bool {
	c, ok := target.(Code)
	return ok && c == e.Code
}
