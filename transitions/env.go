package transitions

import (
	"errors"
	"fmt"
	"math"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/valsem"
)

// Env is everything a transition may use besides the state and the event.
// Apply's result depends only on (state, event, Env): Entropy is derived
// from the event's seed, Keys is read-only, Policy is a pure function and
// Limits are constants.
type Env struct {
	// Entropy supplies every random byte (entropy.FromSeed of the event's
	// seed). Required.
	Entropy entropy.Source
	// Keys gives read-only access to the private keys the member holds
	// outside the state. Nil means none.
	Keys KeyReader
	// Policy holds the application's decisions; the zero Policy is the
	// default (accept every credential, commit every stored proposal).
	Policy Policy
	// Limits bounds the work and memory of one transition; zero fields
	// take the DefaultLimits values.
	Limits Limits
}

// KeyReader is read-only access to the secrets a member keeps outside its
// group states (raft's Storage role): key package bundles, signature
// private keys and external PSKs. Implementations must return the same
// answers for the same questions while a transition runs. KeyStore is an
// immutable in-memory implementation.
type KeyReader interface {
	// KeyPackage returns the bundle of the key package with KeyPackageRef
	// ref (RFC 9420, Section 5.2).
	KeyPackage(ref []byte) (KeyPackageBundle, bool)
	// Signer returns the signer whose public signature key is publicKey.
	Signer(publicKey []byte) (*suite.Signer, bool)
	// ExternalPSK returns the external pre-shared key with psk_id id (RFC
	// 9420, Section 8.4).
	ExternalPSK(id []byte) ([]byte, bool)
}

// KeyPackageBundle is a KeyPackage with the private keys its owner needs to
// join with it (RFC 9420, Section 10).
type KeyPackageBundle struct {
	KeyPackage     codec.KeyPackage
	InitPriv       []byte // HPKE private key of init_key
	EncryptionPriv []byte // HPKE private key of leaf_node.encryption_key
	LastResort     bool
}

// Policy holds the application's decisions. Each function must be pure and
// deterministic (the event log replays them); nil fields take the default.
type Policy struct {
	// AcceptCredential decides whether a credential with its signature key
	// may be in the group (RFC 9420, Section 5.3.1: the application
	// validates credentials). It is called for every leaf node that enters
	// the group or is seen when joining. Nil accepts every credential.
	// A rejection is returned as a *PolicyError.
	AcceptCredential func(c codec.Credential, signatureKey []byte) error
	// AcceptCredentialAt is AcceptCredential with the event's time (At,
	// seconds since the Unix epoch), for validators whose answer depends
	// on time, such as an X.509 chain's validity (package x509cred): the
	// core has no clock, so the time comes from the event and a replay
	// gives the same answer. It is called where AcceptCredential is,
	// after it. Nil accepts every credential. A rejection is returned as
	// a *PolicyError.
	AcceptCredentialAt func(at uint64, c codec.Credential, signatureKey []byte) error
	// SelectProposals chooses which stored by-reference proposals a Commit
	// covers, from the store in arrival order. Nil selects all of them.
	SelectProposals func(stored []state.StoredProposal) []state.StoredProposal
	// AcceptExternalProposal decides whether a proposal from a sender
	// outside the group (an external sender of the external_senders
	// extension, or a new_member_proposal Add) may be stored for a later
	// commit (RFC 9420, Section 12.1.8). Nil accepts every valid one.
	// A rejection is returned as a *PolicyError.
	AcceptExternalProposal func(sender codec.Sender, p codec.Proposal) error
	// AcceptResync decides whether an external joiner whose commit removes
	// leaf removed may replace it (RFC 9420, Section 12.4.3.2: the joiner's
	// credential must be acceptable for the removed participant). Nil
	// requires the two credentials to be equal. A rejection is returned as
	// a *PolicyError.
	AcceptResync func(removed, joiner codec.Credential) error
	// MatchBranchMember decides whether the credential new of a subgroup's
	// leaf presents the same identity as the credential old of a member of
	// the group it branched from (RFC 9420, Section 11.3: "the identifiers
	// presented by their respective credentials are considered equivalent
	// by the application"). A subgroup requires every leaf to match some
	// old member; a reinitialized group, "the same members as the original
	// group" (Section 12.4.2), also requires every old member to match some
	// leaf. The founder checks before it sends the Welcome, each joiner on
	// receipt. Nil requires byte-equal credentials.
	MatchBranchMember func(old, new codec.Credential) bool
	// Grease adds GREASE values (RFC 9420, Section 13.5), drawn from
	// Env.Entropy, wherever the RFC allows them: the capabilities and
	// extensions of every LeafNode this client signs (key packages, new
	// groups, external joins, Updates, commit paths; one value per list,
	// kept when a leaf is re-signed), KeyPackage extensions and the
	// extensions of every GroupInfo (PublishGroupInfo, Commit with
	// PublishGroupInfo, Welcome). Never in proposal or credential types or
	// group context extensions, where the RFC forbids them.
	Grease bool
}

// Limits bounds what one transition may process. A zero field takes the
// value of DefaultLimits.
type Limits struct {
	// MaxLeaves bounds the ratchet tree's leaf count (leaves).
	MaxLeaves uint32
	// MaxProposals bounds the proposals of one commit and the proposal
	// store (proposals).
	MaxProposals uint32
	// MaxMessageBytes bounds a received MLSMessage, Welcome or ratchet tree
	// and an application message (bytes).
	MaxMessageBytes uint32
	// MaxExportLength bounds Export's length (bytes).
	MaxExportLength uint32
	// MaxLeafLifetime bounds not_after - not_before of a key package leaf
	// (seconds). RFC 9420, Section 7.2 asks applications to set one; the
	// default, math.MaxUint64, does not bound it.
	MaxLeafLifetime uint64
	// MaxResumptionPSKs bounds Config.ResumptionPSKs of a group created or
	// joined, i.e. how many past epochs' resumption PSKs a state may store
	// (epochs; ValSem400, RFC 9420, Section 8.6). The default is
	// state.MaxResumptionPSKsLimit (1024), which state.Config.Check
	// enforces whatever this limit says.
	MaxResumptionPSKs uint32
}

// DefaultLimits returns the default limits: 65536 leaves, 1024 proposals,
// 16 MiB messages, 65535-byte exports, unbounded leaf lifetimes, 1024
// stored resumption PSKs.
func DefaultLimits() Limits {
	return Limits{
		MaxLeaves:         1 << 16,
		MaxProposals:      1024,
		MaxMessageBytes:   16 << 20,
		MaxExportLength:   math.MaxUint16,
		MaxLeafLifetime:   math.MaxUint64,
		MaxResumptionPSKs: state.MaxResumptionPSKsLimit,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxLeaves == 0 {
		l.MaxLeaves = d.MaxLeaves
	}
	if l.MaxProposals == 0 {
		l.MaxProposals = d.MaxProposals
	}
	if l.MaxMessageBytes == 0 {
		l.MaxMessageBytes = d.MaxMessageBytes
	}
	if l.MaxExportLength == 0 {
		l.MaxExportLength = d.MaxExportLength
	}
	if l.MaxLeafLifetime == 0 {
		l.MaxLeafLifetime = d.MaxLeafLifetime
	}
	if l.MaxResumptionPSKs == 0 {
		l.MaxResumptionPSKs = d.MaxResumptionPSKs
	}
	return l
}

// Bounds returns the bounds that l puts on decoded vectors (zero fields
// taking their defaults), for decoders outside Apply: state.DecodeBounded
// and replay's snapshot decoding.
func (l Limits) Bounds() codec.Bounds {
	l = l.withDefaults()
	return codec.Bounds{MaxProposals: l.MaxProposals, MaxLeaves: l.MaxLeaves}
}

// PolicyError is a rejection by Env.Policy.
type PolicyError struct {
	Reason string
	Err    error // the policy function's error, if any
}

// Error implements error.
func (e *PolicyError) Error() string {
	if e.Err != nil {
		return "mls: rejected by policy: " + e.Reason + ": " + e.Err.Error()
	}
	return "mls: rejected by policy: " + e.Reason
}

// Unwrap returns the policy function's error.
func (e *PolicyError) Unwrap() error { return e.Err }

// LimitError reports input over one of the Limits.
type LimitError struct {
	Limit string // the Limits field, e.g. "MaxMessageBytes", or a bound of the protocol, e.g. "UpdatePath nodes"
	Got   uint64
	Max   uint64
}

// Error implements error.
func (e *LimitError) Error() string {
	return fmt.Sprintf("mls: %s exceeded: %d > %d", e.Limit, e.Got, e.Max)
}

// checkConfig checks the Config of a group being created or joined: its
// own rules (state.Config.Check) and the bound on stored resumption PSKs
// of env.Limits (ValSem400).
func checkConfig(c state.Config, env Env) error {
	if err := c.Check(); err != nil {
		return err
	}
	// ValSem400: the number of stored resumption PSKs is bounded (RFC
	// 9420, Section 8.6).
	if c.ResumptionPSKs > env.Limits.MaxResumptionPSKs {
		return valsem.Wrap(valsem.ValSem400, &LimitError{Limit: "MaxResumptionPSKs", Got: uint64(c.ResumptionPSKs), Max: uint64(env.Limits.MaxResumptionPSKs)},
			"config keeps too many resumption psks")
	}
	return nil
}

// limitFrom returns err with a *codec.LimitError it wraps (a bound that
// this package passed to a decoder, named after the Limits field) turned
// into a *LimitError, so that every limit is reported the same way; other
// errors are returned unchanged.
func limitFrom(err error) error {
	var le *codec.LimitError
	if errors.As(err, &le) {
		return &LimitError{Limit: le.Limit, Got: le.Got, Max: le.Max}
	}
	return err
}

// limitOrWrap is limitFrom for an error that, when it is not a limit,
// is reported as sentinel: %w: err.
func limitOrWrap(sentinel, err error) error {
	var le *codec.LimitError
	if errors.As(err, &le) {
		return limitFrom(err)
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}

func checkLimit(name string, got, max uint64) error {
	if got > max {
		return &LimitError{Limit: name, Got: got, Max: max}
	}
	return nil
}

// Errors of the state machine beyond validation rules, decoding, policy and
// limits.
var (
	// ErrWrongState reports an event that the state does not allow, e.g. a
	// Commit by a client that is not in a group or MergeStaged with no
	// staged commit.
	ErrWrongState = errors.New("mls: event not allowed in this state")
	// ErrNoEntropy reports an Env without an entropy source.
	ErrNoEntropy = errors.New("mls: no entropy source")
	// ErrMissingKey reports a private key or PSK that Env.Keys does not
	// hold.
	ErrMissingKey = errors.New("mls: key not found")
	// ErrUnsupported reports a feature that this version does not
	// implement.
	ErrUnsupported = errors.New("mls: not supported")
	// ErrInvalidKeyPackage reports a KeyPackage that fails RFC 9420,
	// Section 10.1 validation for a reason without a ValSem code (its
	// signature, its leaf node).
	ErrInvalidKeyPackage = errors.New("mls: invalid key package")
	// ErrInvalidLeafNode reports a LeafNode that fails RFC 9420, Section
	// 7.3 validation for a reason without a ValSem code (signature,
	// lifetime, source, credential type, extensions).
	ErrInvalidLeafNode = errors.New("mls: invalid leaf node")
	// ErrInvalidProposals reports a proposal list that breaks a rule of
	// RFC 9420, Section 12.2 without a ValSem code.
	ErrInvalidProposals = errors.New("mls: invalid proposal list")
	// ErrInvalidWelcome reports a Welcome that fails RFC 9420, Section
	// 12.4.3.1 validation for a reason without a ValSem code.
	ErrInvalidWelcome = errors.New("mls: invalid welcome")
	// ErrInvalidMessage reports an MLSMessage that cannot be processed for
	// a reason without a ValSem code (version, wire format, policy).
	ErrInvalidMessage = errors.New("mls: invalid message")
)
