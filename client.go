package mls

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/entropy/system"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
)

// Errors of the shell. Errors of the core (validation rules, decoding,
// policy, limits, transitions.ErrWrongState) are returned unchanged, so
// errors.Is(err, valsem.ValSem103) works on the result of any method.
var (
	// ErrClosed reports a call on a closed Group or Client.
	ErrClosed = errors.New("mls: closed")
	// ErrClientExists reports NewClient on a Storage that already holds a
	// client; use OpenClient.
	ErrClientExists = errors.New("mls: storage already holds a client")
	// ErrNoClient reports OpenClient on a Storage that holds no client.
	ErrNoClient = errors.New("mls: storage holds no client")
	// ErrNotKeyPackage reports bytes that are not an MLSMessage carrying a
	// KeyPackage.
	ErrNotKeyPackage = errors.New("mls: not an MLSMessage carrying a KeyPackage")
	// ErrGroupOpen reports a join into a group this client has open.
	ErrGroupOpen = errors.New("mls: group already open")
	// ErrJoinDone reports a second Accept or Reject of a StagedWelcome.
	ErrJoinDone = errors.New("mls: staged welcome already accepted or rejected")
	// ErrGroupExists reports creating or joining a group whose id the
	// client's Storage already holds, open or not. The shell never
	// replaces a stored group silently: whoever can get a Welcome to this
	// client (anyone holding one of its key packages) could otherwise wipe
	// its membership of a group by sending a Welcome for a group of the
	// same id. Delete the stored group first (OpenGroup, then
	// Group.Delete) to reuse its id.
	ErrGroupExists = errors.New("mls: group already stored")
)

// Secret kinds the shell stores besides the core's (effects.SecretKind
// values 1 to 8): its identity record and external PSKs.
const (
	secretIdentity    effects.SecretKind = 0x80 // ID "client": suite, signature public key, credential
	secretExternalPSK effects.SecretKind = 0x81 // ID: the psk_id
)

var identityID = []byte("client")

// DefaultLifetime is the default validity of key packages and of a group
// creator's leaf: 90 days from an hour before their creation, as OpenMLS.
const DefaultLifetime = 90 * 24 * time.Hour

// Options configures a Client. The zero value is the production default:
// cipher suite 1, the system clock, the system's randomness, the default
// policy, limits and group configuration, and forward-secret logs.
type Options struct {
	// Suite is the client's cipher suite; 0 means
	// suite.X25519AES128GCMSHA256Ed25519 (1).
	Suite suite.ID
	// Clock returns the current time, the At of every event (lifetime
	// checks); nil means time.Now.
	Clock func() time.Time
	// Seed returns a fresh 32-byte seed for each event, from which the
	// event draws all its randomness (entropy.FromSeed); nil means
	// system.Seed (package entropy/system), the operating system's randomness. Tests inject a
	// deterministic sequence: the same seeds and clock give the same
	// messages, bit for bit.
	Seed func() [32]byte
	// Policy holds the application's decisions (credential validation,
	// proposal selection, external proposals); the zero Policy accepts
	// every credential and commits every stored proposal. Its functions
	// must be pure: a group's log is replayed under it on reopening.
	Policy transitions.Policy
	// PolicyID names the Policy in the logs' headers.
	PolicyID string
	// Limits bounds the work of one event; zero fields take the defaults.
	Limits transitions.Limits
	// Config is the configuration of groups this client creates or joins
	// unless CreateGroup or a join says otherwise; nil means
	// DefaultConfig() (PrivateMessage handshakes; the previous epoch's
	// secrets kept for DefaultPastEpochAge, so that application messages
	// sent just before a commit are still read after it).
	Config *state.Config
	// Capabilities of this client's key packages and leaves; empty lists
	// default to MLS 1.0, the client's suite and basic credentials. A
	// group using custom proposals or extensions needs them listed here.
	Capabilities codec.Capabilities
	// Lifetime of key packages and of a created group's first leaf; 0
	// means DefaultLifetime.
	Lifetime time.Duration
	// PublishGroupInfo makes every commit also return a signed GroupInfo
	// with the ratchet tree (Outgoing.GroupInfo), for external joiners.
	PublishGroupInfo bool
	// KeepRecords is how many event records each group's log keeps after
	// its snapshot. The default, 0, keeps none: the log is a snapshot of
	// the current state only, rewritten on every change, which is forward
	// secret. A positive k keeps up to k records with their seeds, which
	// can regenerate the keys of those k events; KeepAllRecords keeps
	// every record (a debugging log that is not forward secret).
	KeepRecords int
	// Signer holds the client's signature private key outside the
	// Storage: a crypto.Signer backed by an HSM or the operating system's
	// keystore, or a software key (ed25519.PrivateKey, *ecdsa.PrivateKey,
	// circl's ed448.PrivateKey) the application keeps itself. Its key must
	// be of the suite's signature scheme (Ed25519 for suites 1 and 3,
	// ECDSA P-256, P-521, P-384 for 2, 5, 7, Ed448 for 4 and 6). NewClient
	// and NewClientWithCredential then store only its public key, never a
	// private one; OpenClient needs the same Signer again. Nil means a key
	// generated by NewClient and kept in the Storage. See "Signers" in
	// docs/guide.md for what a randomized (ECDSA HSM) signer means for
	// the logs: a randomized one's signatures are journaled with the
	// records KeepRecords keeps. The groups of a client
	// sign concurrently: the Signer must be safe for concurrent use.
	Signer crypto.Signer
	// Signers are further signature keys held by the application: those
	// LeafUpdate.Signer gave this client's leaves in some groups, which
	// OpenClient needs again to sign in those groups. Same rules as
	// Signer.
	Signers []crypto.Signer
	// AtLeastOnce keeps every received application message in storage,
	// written in the same atomic batch that consumes its key, until the
	// application calls Group.Ack with its ProcessedMessage.DeliveryID:
	// a crash between ProcessMessage and the application storing the
	// plaintext loses nothing (Group.Unacked returns what is not
	// acknowledged). Off by default: the default delivers at most once —
	// a message whose processing was durable cannot be decrypted again.
	// The kept plaintexts are as sensitive as the messages; Ack erases
	// them.
	AtLeastOnce bool
}

// Client is one member identity: a signature key and a basic credential in
// one cipher suite, the private keys of its key packages, its external
// PSKs, and the groups it belongs to, all kept in a Storage. A Client is
// safe for concurrent use; so are the Groups it returns.
type Client struct {
	store Storage
	opts  Options
	cfg   state.Config
	cs    suite.ID
	pub   []byte // signature public key
	cred  codec.Credential

	mu   sync.Mutex
	keys transitions.KeyStore
	// journaled are the randomized external signers (by public key),
	// whose signatures the group logs journal (sigJournal).
	journaled map[string]crypto.Signer
	groups    map[string]*Group
	deletions uint64  // groups deleted or closed, so that an OpenGroup notices one during its read
	damaged   []error // secrets OpenClient could not read
	closed    bool
}

// ctx is the context of the shell's Storage calls. The shell's methods
// take none (every operation is short and local), so none is cancelled.
var ctx = context.Background()

// secretKey is the Storage key of a secret: "s/", its kind, the SHA-256
// of its id (ids of post-quantum keys are too long for a key).
func secretKey(ref effects.SecretRef) []byte {
	h := sha256.Sum256(ref.ID)
	return append([]byte{'s', '/', byte(ref.Kind)}, h[:]...)
}

// secretValue is the stored value of a secret: its id (4-byte length
// first), then the secret.
func secretValue(ref effects.SecretRef, secret []byte) []byte {
	v := make([]byte, 0, 4+len(ref.ID)+len(secret))
	v = binary.BigEndian.AppendUint32(v, uint32(len(ref.ID)))
	v = append(v, ref.ID...)
	return append(v, secret...)
}

// parseSecret parses a stored secret under key k.
func parseSecret(k, v []byte) (effects.PersistSecret, error) {
	if len(k) != 3+sha256.Size || len(v) < 4 || uint64(len(v)-4) < uint64(binary.BigEndian.Uint32(v)) {
		return effects.PersistSecret{}, fmt.Errorf("%w: secret %x does not parse", ErrDamaged, k)
	}
	n := binary.BigEndian.Uint32(v)
	ref := effects.SecretRef{Kind: effects.SecretKind(k[2]), ID: v[4 : 4+n]}
	if !bytes.Equal(secretKey(ref), k) {
		return effects.PersistSecret{}, fmt.Errorf("%w: secret %x stored under another key", ErrDamaged, k)
	}
	return effects.PersistSecret{Ref: ref, Secret: v[4+n:]}, nil
}

// secretOps puts into b the secrets the effects persist and the deletion
// of those they delete, in order. A consumed message key
// (effects.SecretMessageKey) has no key of its own to delete: the core
// persists none outside the state — they live in the secret tree, whose
// entry for the sender the operation's batch overwrites (groupLog).
func secretOps(b *Batch, effs []effects.Effect) {
	for _, e := range effs {
		switch e := e.(type) {
		case effects.PersistSecret:
			b.Put(secretKey(e.Ref), secretValue(e.Ref, e.Secret))
		case effects.DeleteSecret:
			if e.Ref.Kind != effects.SecretMessageKey {
				b.Delete(secretKey(e.Ref))
			}
		}
	}
}

// applyKeys carries the effects' PersistSecret and DeleteSecret into the
// key store, once their batch is committed.
func (c *Client) applyKeys(effs []effects.Effect) error {
	var ks []effects.Effect
	for _, e := range effs {
		switch e.(type) {
		case effects.PersistSecret, effects.DeleteSecret:
			ks = append(ks, e)
		}
	}
	if len(ks) == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k, err := c.keys.With(ks)
	if err != nil {
		return err
	}
	c.keys = k
	return nil
}

// commitSecrets stores and deletes the effects' secrets in one batch,
// then updates the key store.
func (c *Client) commitSecrets(effs []effects.Effect, extra ...BatchOp) error {
	var b Batch
	secretOps(&b, effs)
	b.ops = append(b.ops, extra...)
	if b.Len() > 0 {
		if err := c.store.Commit(ctx, &b); err != nil {
			return err
		}
	}
	return c.applyKeys(effs)
}

// NewClient creates a client with a new signature key and a basic
// credential for identity, in a Storage that holds no client yet
// (ErrClientExists otherwise). opts may be nil.
func NewClient(store Storage, identity []byte, opts *Options) (*Client, error) {
	return newClientWith(store, codec.Credential{CredentialType: codec.CredentialBasic, Identity: bytes.Clone(identity)}, opts)
}

// newClientWith creates a client with credential cred (see
// NewClientWithCredential).
func newClientWith(store Storage, cred codec.Credential, opts *Options) (*Client, error) {
	c, err := newClient(store, opts)
	if err != nil {
		return nil, err
	}
	switch _, err := store.Get(ctx, secretKey(effects.SecretRef{Kind: secretIdentity, ID: identityID})); {
	case err == nil:
		return nil, ErrClientExists
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	c.cred = cloneCredential(cred)
	// An Options.Signer key stays with the application: only its public
	// key is stored, in the identity record.
	if err := c.useSigners(nil); err != nil {
		return nil, err
	}
	var effs []effects.Effect
	if c.opts.Signer == nil {
		a, err := c.apply(state.GroupState{}, transitions.NewSignatureKey{At: c.now(), Suite: c.cs}, nil)
		if err != nil {
			return nil, err
		}
		effs = a.Secrets
		for _, sk := range effects.Group(a.Effects).Deliver.SignatureKeys {
			c.pub = sk.PublicKey
		}
	}
	if err := checkCredentialKey(c.cred, c.pub); err != nil {
		return nil, err
	}
	rec, err := encodeIdentity(c.cs, c.pub, c.cred)
	if err != nil {
		return nil, err
	}
	// The signature key and the identity record go in one batch.
	idRef := effects.SecretRef{Kind: secretIdentity, ID: identityID}
	if err := c.commitSecrets(effs, BatchOp{Key: secretKey(idRef), Value: secretValue(idRef, rec)}); err != nil {
		return nil, err
	}
	return c, nil
}

// OpenClient reopens the client a Storage holds (ErrNoClient if none),
// with its signature key, key packages and external PSKs. Its groups are
// reopened with OpenGroup. opts may be nil; Options.Suite is ignored (the
// stored client's suite applies).
//
// A secret that cannot be read back (ErrDamaged: the storage's data were
// corrupted) or does not decode stops only what depends on it — a key
// package, an external PSK — not the client: it is left out, and Damaged
// reports it. A damaged identity record or signature key does stop it.
func OpenClient(store Storage, opts *Options) (*Client, error) {
	c, err := newClient(store, opts)
	if err != nil {
		return nil, err
	}
	idKey := secretKey(effects.SecretRef{Kind: secretIdentity, ID: identityID})
	rec, err := store.Get(ctx, idKey)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoClient
	}
	if err != nil {
		return nil, err
	}
	p, err := parseSecret(idKey, rec)
	if err != nil {
		return nil, err
	}
	if c.cs, c.pub, c.cred, err = decodeIdentity(p.Secret); err != nil {
		return nil, fmt.Errorf("%w: client identity: %w", ErrDamaged, err)
	}
	keys, err := store.Keys(ctx, []byte("s/"))
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if bytes.Equal(k, idKey) {
			continue
		}
		ref := effects.SecretRef{Kind: effects.SecretKind(k[2])}
		v, err := store.Get(ctx, k)
		var p effects.PersistSecret
		if err == nil {
			p, err = parseSecret(k, v)
		}
		if err == nil {
			ref = p.Ref
			if ref.Kind == secretExternalPSK {
				c.keys = c.keys.WithExternalPSK(ref.ID, p.Secret)
				continue
			}
			var ks transitions.KeyStore
			if ks, err = c.keys.With([]effects.Effect{p}); err == nil {
				c.keys = ks
				continue
			}
		}
		if ref.Kind == effects.SecretSignatureKey && (ref.ID == nil || bytes.Equal(ref.ID, c.pub)) {
			return nil, fmt.Errorf("mls: the client's signature key: %w", err)
		}
		c.damaged = append(c.damaged, &SecretError{Ref: ref, Err: err})
	}
	if err := c.openSigner(); err != nil {
		return nil, err
	}
	return c, nil
}

// SecretError reports a stored secret that OpenClient could not load.
type SecretError struct {
	Ref effects.SecretRef
	Err error
}

// Error implements error.
func (e *SecretError) Error() string {
	return fmt.Sprintf("mls: stored secret of kind %d, id %x: %v", e.Ref.Kind, e.Ref.ID, e.Err)
}

// Unwrap returns the cause.
func (e *SecretError) Unwrap() error { return e.Err }

// Damaged returns the errors (each a *SecretError) of the secrets
// OpenClient could not load and left out; nil if there were none.
func (c *Client) Damaged() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.damaged)
}

func newClient(store Storage, opts *Options) (*Client, error) {
	c := &Client{store: store, groups: map[string]*Group{}}
	if opts != nil {
		c.opts = *opts
	}
	c.cs = c.opts.Suite
	if c.cs == 0 {
		c.cs = suite.X25519AES128GCMSHA256Ed25519
	}
	if _, err := suite.Lookup(c.cs); err != nil {
		return nil, err
	}
	c.cfg = DefaultConfig()
	if c.opts.Config != nil {
		if err := checkConfig("Options.Config", *c.opts.Config); err != nil {
			return nil, err
		}
		c.cfg = *c.opts.Config
	}
	if c.opts.Lifetime == 0 {
		c.opts.Lifetime = DefaultLifetime
	}
	if c.opts.KeepRecords < KeepAllRecords {
		return nil, fmt.Errorf("%w: Options.KeepRecords %d", ErrInvalidArgument, c.opts.KeepRecords)
	}
	return c, nil
}

func encodeIdentity(cs suite.ID, pub []byte, cred codec.Credential) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddUint16(uint16(cs))
	codec.AddOpaque(&b, pub)
	cred.Marshal(&b)
	return b.Bytes()
}

func decodeIdentity(data []byte) (suite.ID, []byte, codec.Credential, error) {
	d := codec.NewDecoder(data)
	cs := suite.ID(d.Uint16())
	pub := d.Opaque()
	var cred codec.Credential
	cred.Unmarshal(d)
	if err := d.Finish("client identity"); err != nil {
		return 0, nil, codec.Credential{}, err
	}
	return cs, pub, cred, nil
}

// Identity returns the identity of the client's basic credential.
func (c *Client) Identity() []byte { return bytes.Clone(c.cred.Identity) }

// Credential returns the client's credential.
func (c *Client) Credential() codec.Credential {
	cr := c.cred
	cr.Identity = bytes.Clone(cr.Identity)
	return cr
}

// SignatureKey returns the client's signature public key.
func (c *Client) SignatureKey() []byte { return bytes.Clone(c.pub) }

// Suite returns the client's cipher suite.
func (c *Client) Suite() suite.ID { return c.cs }

// now returns the event time: seconds since the Unix epoch.
func (c *Client) now() uint64 {
	clock := c.opts.Clock
	if clock == nil {
		clock = time.Now
	}
	return uint64(clock().Unix())
}

// seed returns the next event's entropy seed.
func (c *Client) seed() [32]byte {
	if c.opts.Seed == nil {
		return system.Seed()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opts.Seed()
}

func (c *Client) lifetime() codec.Lifetime {
	now := c.now()
	return codec.Lifetime{NotBefore: now - 3600, NotAfter: now + uint64(c.opts.Lifetime/time.Second)}
}

// signerSecret returns the PersistSecret of the client's signature key,
// as NewSignatureKey made it.
func (c *Client) signerSecret() []effects.PersistSecret {
	ref := effects.SecretRef{Kind: effects.SecretSignatureKey, ID: c.pub}
	v, err := c.store.Get(ctx, secretKey(ref))
	if err != nil {
		return nil
	}
	p, err := parseSecret(secretKey(ref), v)
	if err != nil {
		return nil
	}
	return []effects.PersistSecret{p}
}

// keyStore returns the current key store (an immutable value).
func (c *Client) keyStore() transitions.KeyStore {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keys
}

func (c *Client) env(seed [32]byte) transitions.Env {
	return transitions.Env{Entropy: entropy.FromSeed(seed), Keys: c.keyStore(), Policy: c.opts.Policy, Limits: c.opts.Limits}
}

// replayEnv is the environment a group's log replays under.
func (c *Client) replayEnv(replay.Record) transitions.Env {
	return transitions.Env{Keys: c.keyStore(), Policy: c.opts.Policy, Limits: c.opts.Limits}
}

// applyClient runs a client-level event (the zero state in, the zero
// state out: key packages and signature keys) and carries out its
// effects. It keeps no log: there is no group state to recover, and the
// only thing to make durable is the secrets.
func (c *Client) applyClient(ev transitions.Event) ([]effects.Effect, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	a, err := c.apply(state.GroupState{}, ev, nil)
	if err != nil {
		return nil, err
	}
	if err := c.commitSecrets(a.Secrets); err != nil {
		return nil, err
	}
	return a.Effects, nil
}

// input returns the driver's input (replay.Apply) for ev on s: a fresh
// seed, the key store, and the client's environment, with r's resumption
// PSK when r is not nil.
func (c *Client) input(s state.GroupState, ev transitions.Event, r *transitions.Resumption) (replay.Input, error) {
	env, err := c.envWith(r)
	if err != nil {
		return replay.Input{}, err
	}
	return replay.Input{State: s, Event: ev, Seed: c.seed(), Keys: c.keyStore(), Env: env}, nil
}

// apply runs ev on s through the driver (see input) for the events that
// keep no record of a rejection: the client's own (signature keys, key
// packages) and those that start a group. The error is the event's, or
// a *replay.RecordError if its secrets cannot be held.
func (c *Client) apply(s state.GroupState, ev transitions.Event, r *transitions.Resumption) (replay.Applied, error) {
	in, err := c.input(s, ev, r)
	if err != nil {
		return replay.Applied{}, err
	}
	a, err := replay.Apply(in)
	if err != nil {
		return a, &replay.RecordError{Err: err}
	}
	return a, a.Err
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// KeyPackage creates a key package (RFC 9420, Section 10) and returns it
// as an encoded MLSMessage, ready to publish. Its private keys are stored
// until a Welcome uses it. KeyPackageWith sets its extensions, leaf
// extensions, capabilities and lifetime one key package at a time.
func (c *Client) KeyPackage() ([]byte, error) {
	return c.KeyPackageWith(nil)
}

// LastResortKeyPackage creates a key package with the last_resort
// extension (RFC 9420, Section 10.1): its private keys are kept after a
// Welcome used it, so it can serve several.
func (c *Client) LastResortKeyPackage() ([]byte, error) {
	return c.KeyPackageWith(&KeyPackageOptions{LastResort: true})
}

// AddExternalPSK stores an external pre-shared key (RFC 9420, Section
// 8.4) under psk_id id, for ProposeExternalPSK and for processing commits
// that inject it.
func (c *Client) AddExternalPSK(id, secret []byte) error {
	var b Batch
	ref := effects.SecretRef{Kind: secretExternalPSK, ID: id}
	b.Put(secretKey(ref), secretValue(ref, secret))
	if err := c.store.Commit(ctx, &b); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = c.keys.WithExternalPSK(id, secret)
	return nil
}

// GroupOptions configures CreateGroup. The zero value creates a group
// with a random 16-byte id and the client's configuration.
type GroupOptions struct {
	// GroupID is the group's id; nil draws 16 random bytes.
	GroupID []byte
	// Config overrides Options.Config for this group.
	Config *state.Config
	// Extensions are the group context extensions (required capabilities,
	// external senders, application data).
	Extensions codec.Extensions
	// LeafExtensions go into the creator's leaf node.
	LeafExtensions codec.Extensions
}

// CreateGroup creates a group (RFC 9420, Section 11) with this client as
// its only member, at epoch 0. opts may be nil.
func (c *Client) CreateGroup(opts *GroupOptions) (*Group, error) {
	var o GroupOptions
	if opts != nil {
		o = *opts
	}
	if err := checkGroupID("GroupOptions.GroupID", o.GroupID); err != nil {
		return nil, err
	}
	cfg := c.cfg
	if o.Config != nil {
		if err := checkConfig("GroupOptions.Config", *o.Config); err != nil {
			return nil, err
		}
		cfg = *o.Config
	}
	ev := transitions.CreateGroup{
		At: c.now(), Suite: c.cs, GroupID: o.GroupID, SignatureKey: c.pub, Credential: c.cred,
		Capabilities: withSelfRemove(c.opts.Capabilities), Lifetime: c.lifetime(), LeafExtensions: o.LeafExtensions,
		GroupContextExtensions: o.Extensions, Config: cfg,
	}
	g, _, err := c.startGroup(state.GroupState{}, ev)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// startGroup applies the event that founds a group object (CreateGroup,
// ExternalJoin, AcceptJoin) to s, and stores the group's first snapshot
// with the effects' secrets (created and deleted) in one batch. The
// caller collects the outgoing messages.
func (c *Client) startGroup(s state.GroupState, ev transitions.Event) (*Group, []effects.Effect, error) {
	return c.startGroupWith(s, ev, nil)
}

// startGroupWith is startGroup with extra keys in the event's key store
// (for a resumed group: the old group's resumption PSK), which only this
// event needs: they are not stored.
func (c *Client) startGroupWith(s state.GroupState, ev transitions.Event, extra *transitions.Resumption) (*Group, []effects.Effect, error) {
	if c.isClosed() {
		return nil, nil, ErrClosed
	}
	a, err := c.apply(s, ev, extra)
	if err != nil {
		return nil, nil, err
	}
	next := a.Next
	id := groupIDOf(next)
	c.mu.Lock()
	if _, open := c.groups[string(id)]; open {
		c.mu.Unlock()
		return nil, nil, fmt.Errorf("%w: %w: %x", ErrGroupExists, ErrGroupOpen, id)
	}
	// The id is reserved while the log is checked and written, with the
	// Group locked: whoever gets it meanwhile (OpenGroup) waits in its
	// methods, and finds it closed if the start fails.
	g := &Group{c: c, id: id, st: next}
	g.mu.Lock()
	defer g.mu.Unlock()
	c.groups[string(id)] = g
	c.mu.Unlock()
	err = c.checkNotStored(id)
	var b Batch
	var done func()
	if err == nil {
		g.log, done, err = newGroupLog(&b, c.store, id, c.opts.PolicyID, c.opts.KeepRecords, next)
	}
	if err == nil {
		g.log.journal = c.journaling()
		secretOps(&b, a.Secrets)
		err = c.store.Commit(ctx, &b)
	}
	if err == nil {
		done()
		err = c.applyKeys(a.Secrets)
	}
	if err != nil {
		g.closed = true
		c.mu.Lock()
		delete(c.groups, string(id))
		c.mu.Unlock()
		return nil, nil, err
	}
	if handsOut(effects.Group(a.Effects)) {
		// Stored, but not known to be durable: not handed out (the group
		// stays open and stored; OpenGroup returns it).
		if err := c.flush(); err != nil {
			return nil, nil, err
		}
	}
	return g, a.Effects, nil
}

// checkNotStored fails with ErrGroupExists if the Storage holds a group
// of id id.
func (c *Client) checkNotStored(id []byte) error {
	_, err := c.store.Get(ctx, groupKey("g/", id))
	switch {
	case err == nil:
		return fmt.Errorf("%w: %x", ErrGroupExists, id)
	case errors.Is(err, fs.ErrNotExist):
		return nil
	}
	return err
}

// groupIDOf returns the id of the group s is in or joining.
func groupIDOf(s state.GroupState) []byte {
	if j, ok := s.StagedJoin(); ok {
		return j.Next.GroupID()
	}
	return s.GroupID()
}

// OpenGroup reopens a group from the Storage, recovering its state from
// its log, or returns the Group if it is open already. It fails with an
// error wrapping fs.ErrNotExist if the storage holds no such group.
func (c *Client) OpenGroup(groupID []byte) (*Group, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if g, ok := c.groups[string(groupID)]; ok {
		c.mu.Unlock()
		return g, nil
	}
	deletions := c.deletions
	c.mu.Unlock()
	env, err := c.replayEnvFor(groupID)
	if err != nil {
		return nil, err
	}
	l, s, err := openGroupLog(ctx, c.store, groupID, c.opts.PolicyID, c.opts.KeepRecords, c.logSigner(), env)
	if err != nil {
		return nil, err
	}
	l.journal = c.journaling()
	c.mu.Lock()
	if g, ok := c.groups[string(groupID)]; ok {
		c.mu.Unlock()
		return g, nil // opened concurrently
	}
	if c.deletions != deletions {
		// A group was deleted while this one was read: perhaps this one.
		c.mu.Unlock()
		return c.OpenGroup(groupID)
	}
	defer c.mu.Unlock()
	g := &Group{c: c, id: bytes.Clone(groupID), st: s, log: l}
	c.groups[string(groupID)] = g
	return g, nil
}

// flush makes the Storage's committed batches durable if it defers that
// (Flusher).
func (c *Client) flush() error {
	if f, ok := c.store.(Flusher); ok {
		return f.Flush()
	}
	return nil
}

// DeleteGroup erases everything the Storage holds for the group groupID
// (closing the Group first if it is open, as Group.Delete): the way to drop
// a group that no longer opens — ErrDamaged, for instance after an
// operating system crash under DirOptions.EraseAtOnce — so that the client
// can join it again (JoinExternal, JoinGroup), which an id still stored
// refuses (ErrGroupExists). It fails with an error wrapping
// fs.ErrNotExist if nothing is stored for groupID. Signature keys made for
// that group alone (OwnLeafUpdate with a new signature key) are known
// only from its state: for a group that does not open they stay with the
// client's secrets.
func (c *Client) DeleteGroup(groupID []byte) error {
	if len(groupID) > maxGroupID {
		return fmt.Errorf("%w: group id of %d bytes", ErrInvalidArgument, len(groupID))
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if g, open := c.groups[string(groupID)]; open {
		c.mu.Unlock()
		if err := g.Delete(); !errors.Is(err, errNotStarted) {
			return err
		}
		// A group whose start failed: what the id stores is another's.
		return c.DeleteGroup(groupID)
	}
	// Held throughout: an OpenGroup that read the group before the
	// deletion sees deletions move and reads again.
	defer c.mu.Unlock()
	c.deletions++
	l := &groupLog{store: c.store, id: groupID}
	var b Batch
	if err := l.remove(ctx, &b); err != nil {
		return err
	}
	if b.Len() == 1 { // only the snapshot's deletion: is there one?
		if _, err := c.store.Get(ctx, groupKey("g/", groupID)); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("mls: group %x: %w", groupID, err)
		}
	}
	return c.store.Commit(ctx, &b)
}

// logSigner returns the secrets a log's exported snapshot carries: the
// signature key for a KeepAllRecords log (so that it replays on its own),
// none otherwise.
func (c *Client) logSigner() []effects.PersistSecret {
	if c.opts.KeepRecords != KeepAllRecords {
		return nil
	}
	return append(c.signerSecret(), c.groupSignerSecrets()...)
}

// Groups returns the ids of the groups in the client's storage, in
// increasing byte order.
func (c *Client) Groups() ([][]byte, error) {
	keys, err := c.store.Keys(ctx, []byte("g/"))
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, k := range keys {
		id, err := groupIDOfKey(k)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	slices.SortFunc(out, bytes.Compare)
	return out, nil
}

// ExportLog returns the log of a stored group in package replay's format
// (a SnapshotAndTail log: the snapshot, then the records Options.KeepRecords
// kept), for mls replay and the other tools of package replay. Like the
// storage, it holds the member's current secrets. The group must not be
// open in another Client.
func (c *Client) ExportLog(groupID []byte) ([]byte, error) {
	g, err := c.OpenGroup(groupID)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, ErrClosed
	}
	if err := g.storeUnstored(); err != nil {
		return nil, err
	}
	recs, err := g.log.records(ctx)
	if err != nil {
		return nil, err
	}
	return g.log.export(recs, c.logSigner())
}

// Close closes every open group of the client and retries any secret
// deletion that failed; it reports one that still fails.
func (c *Client) Close() error {
	c.mu.Lock()
	gs := make([]*Group, 0, len(c.groups))
	for _, g := range c.groups {
		gs = append(gs, g)
	}
	c.mu.Unlock()
	for _, g := range gs {
		g.Close()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

// StagedWelcome is a validated Welcome (RFC 9420, Section 12.4.3.1) that
// the application inspects — the group, its members, who added it —
// before accepting the join (Accept) or not (Reject). Nothing is stored
// until Accept. It is safe for concurrent use.
type StagedWelcome struct {
	c    *Client
	mu   sync.Mutex
	st   state.GroupState // the joining state
	info effects.WelcomeStaged
	done bool
}

// StageWelcome validates a Welcome (an encoded MLSMessage) addressed to
// one of this client's key packages. ratchetTree is the encoded ratchet
// tree when the Welcome's GroupInfo carries none (nil otherwise). The
// group uses the client's configuration unless cfg is not nil.
func (c *Client) StageWelcome(welcome, ratchetTree []byte, cfg *state.Config) (*StagedWelcome, error) {
	return c.stageWelcome(welcome, ratchetTree, cfg, nil)
}

// stageWelcome is StageWelcome with the old group's resumption PSK in
// the key store when extra is not nil (a Welcome to a resumed group).
func (c *Client) stageWelcome(welcome, ratchetTree []byte, cfg *state.Config, extra *transitions.Resumption) (*StagedWelcome, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	conf := c.cfg
	if cfg != nil {
		if err := checkConfig("the configuration", *cfg); err != nil {
			return nil, err
		}
		conf = *cfg
	}
	a, err := c.apply(state.GroupState{}, transitions.JoinWelcome{At: c.now(), Welcome: welcome, RatchetTree: ratchetTree, Config: conf}, extra)
	if err != nil {
		return nil, err
	}
	next := a.Next
	// Refuse early a Welcome for a group this client holds (Accept
	// checks again: the group may be created in between).
	if j, ok := next.StagedJoin(); ok {
		id := j.Next.GroupID()
		c.mu.Lock()
		_, open := c.groups[string(id)]
		c.mu.Unlock()
		if open {
			return nil, fmt.Errorf("%w: %w: %x", ErrGroupExists, ErrGroupOpen, id)
		}
		if err := c.checkNotStored(id); err != nil {
			return nil, err
		}
	}
	if err := c.commitSecrets(a.Secrets); err != nil {
		return nil, err
	}
	sw := &StagedWelcome{c: c, st: next}
	for _, ws := range effects.Group(a.Effects).Deliver.Welcomes {
		sw.info = ws
	}
	return sw, nil
}

// JoinGroup joins a group from a Welcome in one step: StageWelcome, then
// Accept.
func (c *Client) JoinGroup(welcome, ratchetTree []byte) (*Group, error) {
	sw, err := c.StageWelcome(welcome, ratchetTree, nil)
	if err != nil {
		return nil, err
	}
	return sw.Accept()
}

// GroupID returns the id of the group the Welcome is for.
func (w *StagedWelcome) GroupID() []byte { return bytes.Clone(w.info.Group) }

// Epoch returns the epoch the Welcome joins.
func (w *StagedWelcome) Epoch() uint64 { return w.info.Epoch }

// OwnLeaf returns the leaf this client gets in the group.
func (w *StagedWelcome) OwnLeaf() LeafIndex { return w.info.Self }

// Sender returns the member who signed the Welcome's GroupInfo: the one
// who added this client.
func (w *StagedWelcome) Sender() Member {
	j, _ := w.st.StagedJoin()
	for _, m := range membersOf(j.Next) {
		if m.Index == w.info.Signer {
			return m
		}
	}
	return Member{Index: w.info.Signer}
}

// Members returns the group's members as the Welcome describes them.
func (w *StagedWelcome) Members() []Member {
	j, _ := w.st.StagedJoin()
	return membersOf(j.Next)
}

// Accept joins the group: the new Group's state is stored, then the key
// package the Welcome used is deleted (unless it is a last-resort one).
func (w *StagedWelcome) Accept() (*Group, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return nil, ErrJoinDone
	}
	g, _, err := w.c.startGroup(w.st, transitions.AcceptJoin{At: w.c.now()})
	if err != nil {
		return nil, err
	}
	w.done = true
	return g, nil
}

// Reject drops the staged join. The key package stays usable.
func (w *StagedWelcome) Reject() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return ErrJoinDone
	}
	w.done = true
	w.st = state.GroupState{}
	return nil
}

// ExternalJoinOptions configures JoinExternal. The zero value joins with
// the client's configuration.
type ExternalJoinOptions struct {
	// RatchetTree is the encoded ratchet tree when the GroupInfo carries
	// none.
	RatchetTree []byte
	// Config overrides Options.Config for this group.
	Config *state.Config
	// PSKs are the psk_ids of external PSKs (stored with AddExternalPSK)
	// that the external commit injects.
	PSKs [][]byte
	// AAD is the commit's authenticated data.
	AAD []byte
	// SelfRemoves are the group's pending SelfRemove proposals (as
	// Group.Leave returns them), fetched with the GroupInfo: the external
	// commit covers them by reference, as draft-ietf-mls-extensions asks
	// of an external joiner, after checking their signatures.
	SelfRemoves [][]byte
	// RemovePrior rejoins a group this client was a member of but lost
	// the state of (a group that no longer opens, erased with
	// DeleteGroup): the external commit also removes the client's prior
	// leaf, found by its signature key, else by its credential — with
	// several devices under one credential, the first leaf that has it
	// (as Group.Resync does from a state that still opens). A prior leaf
	// that made itself a signature key of its own (OwnLeafUpdate) is
	// found only by its credential.
	RemovePrior bool
}

// JoinExternal joins a group with an external commit (RFC 9420, Section
// 12.4.3.2) built from a GroupInfo (an encoded MLSMessage, as
// Group.GroupInfo returns it) and returns the joining Group with the
// commit to send. Once the delivery service accepted the commit, call
// MergePendingCommit on the Group to become a member; if it rejected it,
// ClearPendingCommit (which deletes the group). opts may be nil.
func (c *Client) JoinExternal(groupInfo []byte, opts *ExternalJoinOptions) (*Group, Outgoing, error) {
	var o ExternalJoinOptions
	if opts != nil {
		o = *opts
	}
	cfg := c.cfg
	if o.Config != nil {
		if err := checkConfig("ExternalJoinOptions.Config", *o.Config); err != nil {
			return nil, Outgoing{}, err
		}
		cfg = *o.Config
	}
	g, effs, err := c.startGroup(state.GroupState{}, transitions.ExternalJoin{
		At: c.now(), GroupInfo: groupInfo, RatchetTree: o.RatchetTree, SignatureKey: c.pub,
		Credential: c.cred, Capabilities: withSelfRemove(c.opts.Capabilities), Config: cfg, PSKs: o.PSKs, AAD: o.AAD, SelfRemoves: o.SelfRemoves,
		RemovePrior: o.RemovePrior,
	})
	if err != nil {
		return nil, Outgoing{}, err
	}
	out := outgoingOf(effects.Group(effs))
	g.mu.Lock()
	g.sent.note(out.Commit)
	g.mu.Unlock()
	return g, out, nil
}

// forget drops g from the open groups.
func (c *Client) forget(g *Group) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.groups[string(g.id)] == g {
		delete(c.groups, string(g.id))
		c.deletions++ // an OpenGroup reading it meanwhile reads again
	}
}
