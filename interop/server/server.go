// Package server implements the MLSClient gRPC service of the MLS working
// group's interop test-runner (interop/proto) on top of mlscore's pure core.
//
// Each RPC that creates something (CreateGroup, CreateKeyPackage,
// JoinGroup, ExternalJoin, NewMemberAddProposal, CreateExternalSigner,
// the reinit and branch calls) returns a fresh id; all ids share one
// counter, so StorePSK's state_or_transaction_id is unambiguous. A state
// id keeps naming the same member across commits: HandleCommit and
// HandlePendingCommit return the id they were given.
//
// The server drives transitions.Apply directly rather than through the
// root shell package mls: the test-runner needs per-call control that the
// shell's per-client configuration does not offer (exactly the by-reference
// proposals a Commit names, the ratchet tree in or out of each Welcome,
// a resync join by a new client, reinit and branch from an old group's
// resumption secret, external senders and new-member proposals).
package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/crypto/cryptobyte"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/treemath"

	pb "github.com/mlscore/mlscore/interop/proto"
)

// Name is what the Name RPC reports.
const Name = "mlscore"

// Server implements pb.MLSClientServer. The zero value is not usable;
// call New. It is safe for concurrent use (calls are serialized).
type Server struct {
	pb.UnimplementedMLSClientServer

	mu      sync.Mutex
	next    uint32
	states  map[uint32]*actor // members of groups
	txs     map[uint32]*actor // identities with a key package, not yet joined
	signers map[uint32]*actor // external senders
	reinits map[uint32]*reinit

	// A transaction, external signer or reinit record lives as long as
	// a state uses it: refs counts the live states that keep record id,
	// uses lists the records state id keeps (the transaction it joined
	// with, the reinit it came from or started, the external signers it
	// added to its group). Free drops a state and every record no other
	// state keeps. A record no state has used yet stays until Free is
	// called with its own id (ids are unique across kinds).
	refs map[uint32]int
	uses map[uint32][]uint32
}

// reinit is a member of a group closed by a ReInit commit, ready to found
// or join the successor group.
type reinit struct {
	old  state.GroupState // the closed group, after the commit
	next *actor           // the identity in the new group, with a key package
}

// New returns an empty server.
func New() *Server {
	return &Server{
		states:  map[uint32]*actor{},
		txs:     map[uint32]*actor{},
		signers: map[uint32]*actor{},
		reinits: map[uint32]*reinit{},
		refs:    map[uint32]int{},
		uses:    map[uint32][]uint32{},
	}
}

// keep records that state uses record (a transaction, external signer or
// reinit id): the record lives at least as long as the state.
func (s *Server) keep(state, record uint32) {
	if slices.Contains(s.uses[state], record) {
		return
	}
	s.uses[state] = append(s.uses[state], record)
	s.refs[record]++
}

// free drops id: a state, with every record only it kept, or a record
// no live state keeps.
func (s *Server) free(id uint32) {
	if _, ok := s.states[id]; ok {
		delete(s.states, id)
		for _, r := range s.uses[id] {
			if s.refs[r]--; s.refs[r] == 0 {
				delete(s.refs, r)
				s.dropRecord(r)
			}
		}
		delete(s.uses, id)
		return
	}
	if s.refs[id] == 0 {
		s.dropRecord(id)
	}
}

func (s *Server) dropRecord(id uint32) {
	delete(s.txs, id)
	delete(s.signers, id)
	delete(s.reinits, id)
}

// Live returns the numbers of states, transactions, external signers and
// reinit records the server holds (for tests of Free).
func (s *Server) Live() (states, txs, signers, reinits int) {
	defer s.lock()()
	return len(s.states), len(s.txs), len(s.signers), len(s.reinits)
}

func (s *Server) newID() uint32 {
	s.next++
	return s.next
}

func (s *Server) state(id uint32) (*actor, error) {
	a, ok := s.states[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "unknown state id %d", id)
	}
	return a, nil
}

func (s *Server) tx(id uint32) (*actor, error) {
	a, ok := s.txs[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "unknown transaction id %d", id)
	}
	return a, nil
}

func (s *Server) reinitOf(id uint32) (*reinit, error) {
	r, ok := s.reinits[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "unknown reinit id %d", id)
	}
	return r, nil
}

// fail turns an error of the core into a gRPC status.
func fail(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(codes.InvalidArgument, err.Error())
}

func (s *Server) lock() func() {
	s.mu.Lock()
	return s.mu.Unlock
}

// Name implements pb.MLSClientServer.
func (s *Server) Name(context.Context, *pb.NameRequest) (*pb.NameResponse, error) {
	return &pb.NameResponse{Name: Name}, nil
}

// SupportedCiphersuites implements pb.MLSClientServer.
func (s *Server) SupportedCiphersuites(context.Context, *pb.SupportedCiphersuitesRequest) (*pb.SupportedCiphersuitesResponse, error) {
	var out []uint32
	for _, id := range suite.All() {
		out = append(out, uint32(id))
	}
	return &pb.SupportedCiphersuitesResponse{Ciphersuites: out}, nil
}

func suiteOf(cs uint32) (suite.ID, error) {
	if cs > 0xFFFF {
		return 0, status.Errorf(codes.InvalidArgument, "cipher suite %d", cs)
	}
	if _, err := suite.Lookup(suite.ID(cs)); err != nil {
		return 0, status.Errorf(codes.InvalidArgument, "unsupported cipher suite %d: %v", cs, err)
	}
	return suite.ID(cs), nil
}

// CreateGroup implements pb.MLSClientServer.
func (s *Server) CreateGroup(_ context.Context, req *pb.CreateGroupRequest) (*pb.CreateGroupResponse, error) {
	defer s.lock()()
	cs, err := suiteOf(req.CipherSuite)
	if err != nil {
		return nil, err
	}
	a, err := newActor(cs, req.Identity)
	if err != nil {
		return nil, fail(err)
	}
	a.cfg = groupConfig(req.EncryptHandshake)
	if _, err := a.apply(transitions.CreateGroup{
		At: now(), Suite: cs, GroupID: req.GroupId, SignatureKey: a.pub, Credential: a.cred,
		Lifetime: lifetime(), Config: a.cfg,
	}, transitions.Policy{}); err != nil {
		return nil, fail(err)
	}
	id := s.newID()
	s.states[id] = a
	return &pb.CreateGroupResponse{StateId: id}, nil
}

// CreateKeyPackage implements pb.MLSClientServer.
func (s *Server) CreateKeyPackage(_ context.Context, req *pb.CreateKeyPackageRequest) (*pb.CreateKeyPackageResponse, error) {
	defer s.lock()()
	cs, err := suiteOf(req.CipherSuite)
	if err != nil {
		return nil, err
	}
	a, effs, err := newActorWithSecrets(cs, req.Identity)
	if err != nil {
		return nil, fail(err)
	}
	kp, bundle, err := a.keyPackage()
	if err != nil {
		return nil, fail(err)
	}
	id := s.newID()
	s.txs[id] = a
	return &pb.CreateKeyPackageResponse{
		TransactionId: id, KeyPackage: kp, InitPriv: bundle.InitPriv,
		EncryptionPriv: bundle.EncryptionPriv, SignaturePriv: signaturePriv(effs, a.pub),
	}, nil
}

// newActorWithSecrets is newActor that also returns the effects that
// made the signature key, to report its private key.
func newActorWithSecrets(cs suite.ID, identity []byte) (*actor, []effects.Effect, error) {
	a := &actor{
		suite: cs,
		cred:  codec.Credential{CredentialType: codec.CredentialBasic, Identity: bytes.Clone(identity)},
		cfg:   groupConfig(true),
	}
	effs, err := a.apply(transitions.NewSignatureKey{At: now(), Suite: cs}, transitions.Policy{})
	if err != nil {
		return nil, nil, err
	}
	for _, e := range effs {
		if k, ok := e.(effects.SignatureKeyCreated); ok {
			a.pub = k.PublicKey
		}
	}
	if a.pub == nil {
		return nil, nil, errors.New("no signature key created")
	}
	return a, effs, nil
}

// join stages a Welcome with the actor's keys and accepts it.
func (a *actor) join(welcome, ratchetTree []byte) error {
	if len(ratchetTree) == 0 {
		ratchetTree = nil
	}
	if _, err := a.apply(transitions.JoinWelcome{At: now(), Welcome: welcome, RatchetTree: ratchetTree, Config: a.cfg}, transitions.Policy{}); err != nil {
		return err
	}
	_, err := a.apply(transitions.AcceptJoin{At: now()}, transitions.Policy{})
	return err
}

// JoinGroup implements pb.MLSClientServer.
func (s *Server) JoinGroup(_ context.Context, req *pb.JoinGroupRequest) (*pb.JoinGroupResponse, error) {
	defer s.lock()()
	t, err := s.tx(req.TransactionId)
	if err != nil {
		return nil, err
	}
	a := t.clone()
	a.cfg = groupConfig(req.EncryptHandshake)
	if err := a.join(req.Welcome, req.RatchetTree); err != nil {
		return nil, fail(err)
	}
	id := s.newID()
	s.states[id] = a
	s.keep(id, req.TransactionId)
	return &pb.JoinGroupResponse{StateId: id, EpochAuthenticator: a.st.EpochAuthenticator()}, nil
}

// groupInfoSuite returns the cipher suite of an MLSMessage(GroupInfo).
func groupInfoOf(gi []byte) (codec.GroupInfo, error) {
	m, err := codec.DecodeMLSMessage(gi)
	if err != nil {
		return codec.GroupInfo{}, status.Errorf(codes.InvalidArgument, "group info: %v", err)
	}
	if m.GroupInfo == nil {
		return codec.GroupInfo{}, status.Error(codes.InvalidArgument, "not an MLSMessage carrying a GroupInfo")
	}
	return *m.GroupInfo, nil
}

// ExternalJoin implements pb.MLSClientServer. The external commit is
// taken as accepted by the delivery service: the joiner is a member at
// once.
func (s *Server) ExternalJoin(_ context.Context, req *pb.ExternalJoinRequest) (*pb.ExternalJoinResponse, error) {
	defer s.lock()()
	gi, err := groupInfoOf(req.GroupInfo)
	if err != nil {
		return nil, err
	}
	a, err := newActor(suite.ID(gi.GroupContext.CipherSuite), req.Identity)
	if err != nil {
		return nil, fail(err)
	}
	a.cfg = groupConfig(req.EncryptHandshake)
	var psks [][]byte
	for _, p := range req.Psks {
		a.keys = a.keys.WithExternalPSK(p.PskId, p.PskSecret)
		psks = append(psks, p.PskId)
	}
	tree := req.RatchetTree
	if len(tree) == 0 {
		tree = nil
	}
	effs, err := a.apply(transitions.ExternalJoin{
		At: now(), GroupInfo: req.GroupInfo, RatchetTree: tree, SignatureKey: a.pub, Credential: a.cred,
		Config: a.cfg, PSKs: psks, RemovePrior: req.RemovePrior,
	}, transitions.Policy{})
	if err != nil {
		return nil, fail(err)
	}
	commit := sentMessage(effs)
	if _, err := a.apply(transitions.AcceptJoin{At: now()}, transitions.Policy{}); err != nil {
		return nil, fail(err)
	}
	id := s.newID()
	s.states[id] = a
	return &pb.ExternalJoinResponse{StateId: id, Commit: commit, EpochAuthenticator: a.st.EpochAuthenticator()}, nil
}

// GroupInfo implements pb.MLSClientServer.
func (s *Server) GroupInfo(_ context.Context, req *pb.GroupInfoRequest) (*pb.GroupInfoResponse, error) {
	defer s.lock()()
	a, err := s.state(req.StateId)
	if err != nil {
		return nil, err
	}
	effs, err := a.apply(transitions.PublishGroupInfo{At: now(), RatchetTree: !req.ExternalTree}, transitions.Policy{})
	if err != nil {
		return nil, fail(err)
	}
	resp := &pb.GroupInfoResponse{}
	for _, e := range effs {
		if p, ok := e.(effects.PublishGroupInfo); ok {
			resp.GroupInfo = p.GroupInfo
		}
	}
	if req.ExternalTree {
		if resp.RatchetTree, err = a.st.Tree().Encode(); err != nil {
			return nil, fail(err)
		}
	}
	return resp, nil
}

// StateAuth implements pb.MLSClientServer: the epoch authenticator.
func (s *Server) StateAuth(_ context.Context, req *pb.StateAuthRequest) (*pb.StateAuthResponse, error) {
	defer s.lock()()
	a, err := s.state(req.StateId)
	if err != nil {
		return nil, err
	}
	return &pb.StateAuthResponse{StateAuthSecret: a.st.EpochAuthenticator()}, nil
}

// Export implements pb.MLSClientServer.
func (s *Server) Export(_ context.Context, req *pb.ExportRequest) (*pb.ExportResponse, error) {
	defer s.lock()()
	a, err := s.state(req.StateId)
	if err != nil {
		return nil, err
	}
	effs, err := a.apply(transitions.Export{At: now(), Label: req.Label, Context: req.Context, Length: req.KeyLength}, transitions.Policy{})
	if err != nil {
		return nil, fail(err)
	}
	for _, e := range effs {
		if x, ok := e.(effects.Exported); ok {
			return &pb.ExportResponse{ExportedSecret: x.Secret}, nil
		}
	}
	return nil, status.Error(codes.Internal, "nothing exported")
}

// Protect implements pb.MLSClientServer.
func (s *Server) Protect(_ context.Context, req *pb.ProtectRequest) (*pb.ProtectResponse, error) {
	defer s.lock()()
	a, err := s.state(req.StateId)
	if err != nil {
		return nil, err
	}
	effs, err := a.apply(transitions.Protect{At: now(), Data: req.Plaintext, AAD: req.AuthenticatedData}, transitions.Policy{})
	if err != nil {
		return nil, fail(err)
	}
	return &pb.ProtectResponse{Ciphertext: sentMessage(effs)}, nil
}

// Unprotect implements pb.MLSClientServer.
func (s *Server) Unprotect(_ context.Context, req *pb.UnprotectRequest) (*pb.UnprotectResponse, error) {
	defer s.lock()()
	a, err := s.state(req.StateId)
	if err != nil {
		return nil, err
	}
	effs, err := a.apply(transitions.Receive{At: now(), Message: req.Ciphertext}, transitions.Policy{})
	if err != nil {
		return nil, fail(err)
	}
	for _, e := range effs {
		if d, ok := e.(effects.DeliverApplication); ok {
			return &pb.UnprotectResponse{AuthenticatedData: d.AAD, Plaintext: d.Data}, nil
		}
	}
	return nil, status.Error(codes.InvalidArgument, "not an application message")
}

// StorePSK implements pb.MLSClientServer.
func (s *Server) StorePSK(_ context.Context, req *pb.StorePSKRequest) (*pb.StorePSKResponse, error) {
	defer s.lock()()
	id := req.StateOrTransactionId
	var a *actor
	if st, ok := s.states[id]; ok {
		a = st
	} else if t, ok := s.txs[id]; ok {
		a = t
	} else {
		return nil, status.Errorf(codes.NotFound, "unknown state or transaction id %d", id)
	}
	a.keys = a.keys.WithExternalPSK(req.PskId, req.PskSecret)
	return &pb.StorePSKResponse{}, nil
}

func extensionsOf(exts []*pb.Extension) (codec.Extensions, error) {
	var out codec.Extensions
	for _, e := range exts {
		if e.ExtensionType > 0xFFFF {
			return nil, status.Errorf(codes.InvalidArgument, "extension type %d", e.ExtensionType)
		}
		out = append(out, codec.Extension{ExtensionType: codec.ExtensionType(e.ExtensionType), ExtensionData: bytes.Clone(e.ExtensionData)})
	}
	return out, nil
}

func keyPackageOf(b []byte) (codec.KeyPackage, error) {
	m, err := codec.DecodeMLSMessage(b)
	if err != nil {
		return codec.KeyPackage{}, status.Errorf(codes.InvalidArgument, "key package: %v", err)
	}
	if m.KeyPackage == nil {
		return codec.KeyPackage{}, status.Error(codes.InvalidArgument, "not an MLSMessage carrying a KeyPackage")
	}
	return *m.KeyPackage, nil
}

func addProposal(kp []byte) (codec.Proposal, error) {
	k, err := keyPackageOf(kp)
	if err != nil {
		return codec.Proposal{}, err
	}
	return codec.Proposal{ProposalType: codec.ProposalAdd, Add: &codec.Add{KeyPackage: k}}, nil
}

func externalPSKProposal(id []byte) codec.Proposal {
	// The core draws the nonce.
	return codec.Proposal{ProposalType: codec.ProposalPreSharedKey,
		PreSharedKey: &codec.PreSharedKey{PSK: keysched.ExternalPSKID(id, nil)}}
}

func resumptionPSKProposal(groupID []byte, epoch uint64) codec.Proposal {
	return codec.Proposal{ProposalType: codec.ProposalPreSharedKey,
		PreSharedKey: &codec.PreSharedKey{PSK: keysched.ResumptionPSKID(codec.ResumptionPSKUsageApplication, groupID, epoch, nil)}}
}

func gceProposal(exts codec.Extensions) codec.Proposal {
	return codec.Proposal{ProposalType: codec.ProposalGroupContextExtensions,
		GroupContextExtensions: &codec.GroupContextExtensions{Extensions: exts}}
}

// describe builds the proposal a ProposalDescription describes, in the
// group groupID; leaf finds a member by identity for a Remove.
func describe(d *pb.ProposalDescription, groupID []byte, leaf func([]byte) (codec.Remove, error)) (codec.Proposal, error) {
	if d == nil {
		return codec.Proposal{}, status.Error(codes.InvalidArgument, "no proposal description")
	}
	switch string(d.ProposalType) {
	case "add":
		return addProposal(d.KeyPackage)
	case "remove":
		r, err := leaf(d.RemovedId)
		if err != nil {
			return codec.Proposal{}, status.Error(codes.InvalidArgument, err.Error())
		}
		return codec.Proposal{ProposalType: codec.ProposalRemove, Remove: &r}, nil
	case "externalPSK":
		return externalPSKProposal(d.PskId), nil
	case "resumptionPSK":
		return resumptionPSKProposal(groupID, d.EpochId), nil
	case "groupContextExtensions":
		exts, err := extensionsOf(d.Extensions)
		if err != nil {
			return codec.Proposal{}, err
		}
		return gceProposal(exts), nil
	case "reinit":
		exts, err := extensionsOf(d.Extensions)
		if err != nil {
			return codec.Proposal{}, err
		}
		cs, err := suiteOf(d.CipherSuite)
		if err != nil {
			return codec.Proposal{}, err
		}
		return codec.Proposal{ProposalType: codec.ProposalReInit, ReInit: &codec.ReInit{
			GroupID: bytes.Clone(d.GroupId), Version: codec.MLS10, CipherSuite: codec.CipherSuite(cs), Extensions: exts,
		}}, nil
	}
	return codec.Proposal{}, status.Errorf(codes.InvalidArgument, "unknown proposal type %q", d.ProposalType)
}

func (s *Server) proposeWith(id uint32, build func(a *actor) (codec.Proposal, error)) (*pb.ProposalResponse, error) {
	defer s.lock()()
	a, err := s.state(id)
	if err != nil {
		return nil, err
	}
	p, err := build(a)
	if err != nil {
		return nil, fail(err)
	}
	msg, err := a.propose(p)
	if err != nil {
		return nil, fail(err)
	}
	return &pb.ProposalResponse{Proposal: msg}, nil
}

// AddProposal implements pb.MLSClientServer.
func (s *Server) AddProposal(_ context.Context, req *pb.AddProposalRequest) (*pb.ProposalResponse, error) {
	return s.proposeWith(req.StateId, func(*actor) (codec.Proposal, error) { return addProposal(req.KeyPackage) })
}

// UpdateProposal implements pb.MLSClientServer.
func (s *Server) UpdateProposal(_ context.Context, req *pb.UpdateProposalRequest) (*pb.ProposalResponse, error) {
	return s.proposeWith(req.StateId, func(*actor) (codec.Proposal, error) {
		// An empty template: the core keeps the leaf's credential,
		// capabilities and extensions, draws the key and signs.
		return codec.Proposal{ProposalType: codec.ProposalUpdate,
			Update: &codec.Update{LeafNode: codec.LeafNode{LeafNodeSource: codec.LeafNodeSourceUpdate}}}, nil
	})
}

// RemoveProposal implements pb.MLSClientServer.
func (s *Server) RemoveProposal(_ context.Context, req *pb.RemoveProposalRequest) (*pb.ProposalResponse, error) {
	return s.proposeWith(req.StateId, func(a *actor) (codec.Proposal, error) {
		r, err := a.leafOf(req.RemovedId)
		if err != nil {
			return codec.Proposal{}, err
		}
		return codec.Proposal{ProposalType: codec.ProposalRemove, Remove: &r}, nil
	})
}

// ExternalPSKProposal implements pb.MLSClientServer.
func (s *Server) ExternalPSKProposal(_ context.Context, req *pb.ExternalPSKProposalRequest) (*pb.ProposalResponse, error) {
	return s.proposeWith(req.StateId, func(*actor) (codec.Proposal, error) { return externalPSKProposal(req.PskId), nil })
}

// ResumptionPSKProposal implements pb.MLSClientServer.
func (s *Server) ResumptionPSKProposal(_ context.Context, req *pb.ResumptionPSKProposalRequest) (*pb.ProposalResponse, error) {
	return s.proposeWith(req.StateId, func(a *actor) (codec.Proposal, error) {
		return resumptionPSKProposal(a.st.GroupID(), req.EpochId), nil
	})
}

// GroupContextExtensionsProposal implements pb.MLSClientServer.
func (s *Server) GroupContextExtensionsProposal(_ context.Context, req *pb.GroupContextExtensionsProposalRequest) (*pb.ProposalResponse, error) {
	return s.proposeWith(req.StateId, func(*actor) (codec.Proposal, error) {
		exts, err := extensionsOf(req.Extensions)
		if err != nil {
			return codec.Proposal{}, err
		}
		return gceProposal(exts), nil
	})
}

// ReInitProposal implements pb.MLSClientServer.
func (s *Server) ReInitProposal(_ context.Context, req *pb.ReInitProposalRequest) (*pb.ProposalResponse, error) {
	return s.proposeWith(req.StateId, func(a *actor) (codec.Proposal, error) {
		return describe(&pb.ProposalDescription{
			ProposalType: []byte("reinit"), GroupId: req.GroupId, CipherSuite: req.CipherSuite, Extensions: req.Extensions,
		}, a.st.GroupID(), a.leafOf)
	})
}

// commit creates a commit covering exactly the by-reference proposals
// given (in that order) and the by-value ones; the commit is pending.
func (a *actor) commit(req *pb.CommitRequest) (*pb.CommitResponse, error) {
	var want [][]byte
	for _, msg := range req.ByReference {
		ref, err := a.receiveProposal(msg)
		if err != nil {
			return nil, err
		}
		want = append(want, ref)
	}
	var inline []codec.Proposal
	for _, d := range req.ByValue {
		p, err := describe(d, a.st.GroupID(), a.leafOf)
		if err != nil {
			return nil, err
		}
		inline = append(inline, p)
	}
	pol := transitions.Policy{SelectProposals: func(stored []state.StoredProposal) []state.StoredProposal {
		var out []state.StoredProposal
		for _, ref := range want {
			for _, sp := range stored {
				if bytes.Equal(sp.Ref, ref) {
					out = append(out, sp)
					break
				}
			}
		}
		return out
	}}
	treeOpt := transitions.TreeInclude
	if req.ExternalTree {
		treeOpt = transitions.TreeOmit
	}
	effs, err := a.apply(transitions.Commit{At: now(), Inline: inline, ForcePath: req.ForcePath, RatchetTree: treeOpt}, pol)
	if err != nil {
		return nil, err
	}
	resp := &pb.CommitResponse{Commit: sentMessage(effs), Welcome: welcomeOf(effs)}
	if req.ExternalTree {
		pc, ok := a.st.PendingCommit()
		if !ok {
			return nil, errors.New("no pending commit")
		}
		if resp.RatchetTree, err = pc.Next.Tree().Encode(); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// Commit implements pb.MLSClientServer.
func (s *Server) Commit(_ context.Context, req *pb.CommitRequest) (*pb.CommitResponse, error) {
	defer s.lock()()
	a, err := s.state(req.StateId)
	if err != nil {
		return nil, err
	}
	resp, err := a.commit(req)
	return resp, fail(err)
}

// handleCommit processes the proposals and the commit of another member
// and merges it.
func (a *actor) handleCommit(proposals [][]byte, commit []byte) error {
	for _, p := range proposals {
		if _, err := a.receiveProposal(p); err != nil {
			return err
		}
	}
	effs, err := a.apply(transitions.Receive{At: now(), Message: commit}, transitions.Policy{})
	if err != nil {
		return err
	}
	staged := false
	for _, e := range effs {
		if _, ok := e.(effects.CommitStaged); ok {
			staged = true
		}
	}
	if !staged {
		return errors.New("message is not a commit")
	}
	_, err = a.apply(transitions.MergeStaged{At: now()}, transitions.Policy{})
	return err
}

// HandleCommit implements pb.MLSClientServer.
func (s *Server) HandleCommit(_ context.Context, req *pb.HandleCommitRequest) (*pb.HandleCommitResponse, error) {
	defer s.lock()()
	a, err := s.state(req.StateId)
	if err != nil {
		return nil, err
	}
	if err := a.handleCommit(req.Proposal, req.Commit); err != nil {
		return nil, fail(err)
	}
	return &pb.HandleCommitResponse{StateId: req.StateId, EpochAuthenticator: a.st.EpochAuthenticator()}, nil
}

// HandlePendingCommit implements pb.MLSClientServer.
func (s *Server) HandlePendingCommit(_ context.Context, req *pb.HandlePendingCommitRequest) (*pb.HandleCommitResponse, error) {
	defer s.lock()()
	a, err := s.state(req.StateId)
	if err != nil {
		return nil, err
	}
	if _, err := a.apply(transitions.ConfirmCommit{At: now()}, transitions.Policy{}); err != nil {
		return nil, fail(err)
	}
	return &pb.HandleCommitResponse{StateId: req.StateId, EpochAuthenticator: a.st.EpochAuthenticator()}, nil
}

// ReInitCommit implements pb.MLSClientServer: a Commit of the ReInit
// proposal (by reference).
func (s *Server) ReInitCommit(ctx context.Context, req *pb.CommitRequest) (*pb.CommitResponse, error) {
	return s.Commit(ctx, req)
}

// startReInit records a member of a group its last commit closed with a
// ReInit: a new identity in the new cipher suite with a key package.
func (s *Server) startReInit(stateID uint32, a *actor) (*pb.HandleReInitCommitResponse, error) {
	ri := a.st.Public().ReInit
	if ri == nil {
		return nil, status.Error(codes.FailedPrecondition, "the commit did not cover a ReInit")
	}
	next, err := newActor(suite.ID(ri.CipherSuite), a.cred.Identity)
	if err != nil {
		return nil, fail(err)
	}
	next.cfg = a.cfg
	kp, _, err := next.keyPackage()
	if err != nil {
		return nil, fail(err)
	}
	id := s.newID()
	s.reinits[id] = &reinit{old: a.st, next: next}
	s.keep(stateID, id)
	return &pb.HandleReInitCommitResponse{ReinitId: id, KeyPackage: kp, EpochAuthenticator: a.st.EpochAuthenticator()}, nil
}

// HandlePendingReInitCommit implements pb.MLSClientServer.
func (s *Server) HandlePendingReInitCommit(_ context.Context, req *pb.HandlePendingCommitRequest) (*pb.HandleReInitCommitResponse, error) {
	defer s.lock()()
	a, err := s.state(req.StateId)
	if err != nil {
		return nil, err
	}
	if _, err := a.apply(transitions.ConfirmCommit{At: now()}, transitions.Policy{}); err != nil {
		return nil, fail(err)
	}
	return s.startReInit(req.StateId, a)
}

// HandleReInitCommit implements pb.MLSClientServer.
func (s *Server) HandleReInitCommit(_ context.Context, req *pb.HandleCommitRequest) (*pb.HandleReInitCommitResponse, error) {
	defer s.lock()()
	a, err := s.state(req.StateId)
	if err != nil {
		return nil, err
	}
	if err := a.handleCommit(req.Proposal, req.Commit); err != nil {
		return nil, fail(err)
	}
	return s.startReInit(req.StateId, a)
}

// withResumption returns keys that also hold the resumption secret and
// context of the current epoch of old, for founding or joining a group
// resumed from it (reinit or branch).
func withResumption(keys transitions.KeyStore, old state.GroupState) (transitions.KeyStore, error) {
	r, ok := transitions.ResumptionOf(old, old.Epoch())
	if !ok {
		return keys, errors.New("no resumption secret for the current epoch")
	}
	return keys.WithResumption(r)
}

func keyPackagesOf(kps [][]byte) ([]codec.KeyPackage, error) {
	var out []codec.KeyPackage
	for _, b := range kps {
		k, err := keyPackageOf(b)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// subgroupResponse finishes ReInitWelcome and CreateBranch: the founder's
// new state is registered and the Welcome returned.
func (s *Server) subgroupResponse(a *actor, effs []effects.Effect, externalTree bool) (*pb.CreateSubgroupResponse, error) {
	resp := &pb.CreateSubgroupResponse{Welcome: welcomeOf(effs), EpochAuthenticator: a.st.EpochAuthenticator()}
	if externalTree {
		var err error
		if resp.RatchetTree, err = a.st.Tree().Encode(); err != nil {
			return nil, fail(err)
		}
	}
	resp.StateId = s.newID()
	s.states[resp.StateId] = a
	return resp, nil
}

func treeOption(external bool) transitions.TreeOption {
	if external {
		return transitions.TreeOmit
	}
	return transitions.TreeInclude
}

// ReInitWelcome implements pb.MLSClientServer: the welcomer founds the
// new group with the other members' key packages.
func (s *Server) ReInitWelcome(_ context.Context, req *pb.ReInitWelcomeRequest) (*pb.CreateSubgroupResponse, error) {
	defer s.lock()()
	r, err := s.reinitOf(req.ReinitId)
	if err != nil {
		return nil, err
	}
	kps, err := keyPackagesOf(req.KeyPackage)
	if err != nil {
		return nil, err
	}
	a := r.next.clone()
	if a.keys, err = withResumption(a.keys, r.old); err != nil {
		return nil, fail(err)
	}
	ev, err := transitions.ReInitGroupFor(r.old, now(), transitions.NewGroup{
		SignatureKey: a.pub, Credential: a.cred, Lifetime: lifetime(), Config: a.cfg,
		KeyPackages: kps, ForcePath: req.ForcePath, RatchetTree: treeOption(req.ExternalTree),
	})
	if err != nil {
		return nil, fail(err)
	}
	effs, err := a.apply(ev, transitions.Policy{})
	if err != nil {
		return nil, fail(err)
	}
	resp, err := s.subgroupResponse(a, effs, req.ExternalTree)
	if err == nil {
		s.keep(resp.StateId, req.ReinitId)
	}
	return resp, err
}

// HandleReInitWelcome implements pb.MLSClientServer.
func (s *Server) HandleReInitWelcome(_ context.Context, req *pb.HandleReInitWelcomeRequest) (*pb.JoinGroupResponse, error) {
	defer s.lock()()
	r, err := s.reinitOf(req.ReinitId)
	if err != nil {
		return nil, err
	}
	a := r.next.clone()
	if a.keys, err = withResumption(a.keys, r.old); err != nil {
		return nil, fail(err)
	}
	if err := a.join(req.Welcome, req.RatchetTree); err != nil {
		return nil, fail(err)
	}
	id := s.newID()
	s.states[id] = a
	s.keep(id, req.ReinitId)
	return &pb.JoinGroupResponse{StateId: id, EpochAuthenticator: a.st.EpochAuthenticator()}, nil
}

// CreateBranch implements pb.MLSClientServer: a subgroup of the member's
// group with the given members' key packages (RFC 9420, Section 11.3).
func (s *Server) CreateBranch(_ context.Context, req *pb.CreateBranchRequest) (*pb.CreateSubgroupResponse, error) {
	defer s.lock()()
	old, err := s.state(req.StateId)
	if err != nil {
		return nil, err
	}
	kps, err := keyPackagesOf(req.KeyPackages)
	if err != nil {
		return nil, err
	}
	exts, err := extensionsOf(req.Extensions)
	if err != nil {
		return nil, err
	}
	a := old.clone()
	a.st = state.GroupState{}
	if a.keys, err = withResumption(a.keys, old.st); err != nil {
		return nil, fail(err)
	}
	effs, err := a.apply(transitions.BranchGroup{
		At: now(), OldGroupID: old.st.GroupID(), OldEpoch: old.st.Epoch(), Suite: old.suite,
		GroupID: req.GroupId, GroupContextExtensions: exts,
		NewGroup: transitions.NewGroup{
			SignatureKey: a.pub, Credential: a.cred, Lifetime: lifetime(), Config: a.cfg,
			KeyPackages: kps, ForcePath: req.ForcePath, RatchetTree: treeOption(req.ExternalTree),
		},
	}, transitions.Policy{})
	if err != nil {
		return nil, fail(err)
	}
	return s.subgroupResponse(a, effs, req.ExternalTree)
}

// HandleBranch implements pb.MLSClientServer.
func (s *Server) HandleBranch(_ context.Context, req *pb.HandleBranchRequest) (*pb.HandleBranchResponse, error) {
	defer s.lock()()
	old, err := s.state(req.StateId)
	if err != nil {
		return nil, err
	}
	t, err := s.tx(req.TransactionId)
	if err != nil {
		return nil, err
	}
	a := t.clone()
	a.cfg = old.cfg
	if a.keys, err = withResumption(a.keys, old.st); err != nil {
		return nil, fail(err)
	}
	if err := a.join(req.Welcome, req.RatchetTree); err != nil {
		return nil, fail(err)
	}
	id := s.newID()
	s.states[id] = a
	s.keep(id, req.TransactionId)
	return &pb.HandleBranchResponse{StateId: id, EpochAuthenticator: a.st.EpochAuthenticator()}, nil
}

// NewMemberAddProposal implements pb.MLSClientServer: a new identity
// proposes adding its own key package (sender new_member_proposal).
func (s *Server) NewMemberAddProposal(_ context.Context, req *pb.NewMemberAddProposalRequest) (*pb.NewMemberAddProposalResponse, error) {
	defer s.lock()()
	gi, err := groupInfoOf(req.GroupInfo)
	if err != nil {
		return nil, err
	}
	a, effs, err := newActorWithSecrets(suite.ID(gi.GroupContext.CipherSuite), req.Identity)
	if err != nil {
		return nil, fail(err)
	}
	_, bundle, err := a.keyPackage()
	if err != nil {
		return nil, fail(err)
	}
	peffs, err := a.apply(transitions.ProposeAsNewMember{At: now(), GroupInfo: req.GroupInfo, KeyPackageRef: a.kpRef}, transitions.Policy{})
	if err != nil {
		return nil, fail(err)
	}
	id := s.newID()
	s.txs[id] = a
	return &pb.NewMemberAddProposalResponse{
		TransactionId: id, Proposal: sentMessage(peffs), InitPriv: bundle.InitPriv,
		EncryptionPriv: bundle.EncryptionPriv, SignaturePriv: signaturePriv(effs, a.pub),
	}, nil
}

// CreateExternalSigner implements pb.MLSClientServer: external_sender is
// an encoded ExternalSender (RFC 9420, Section 12.1.8.1).
func (s *Server) CreateExternalSigner(_ context.Context, req *pb.CreateExternalSignerRequest) (*pb.CreateExternalSignerResponse, error) {
	defer s.lock()()
	cs, err := suiteOf(req.CipherSuite)
	if err != nil {
		return nil, err
	}
	a, err := newActor(cs, req.Identity)
	if err != nil {
		return nil, fail(err)
	}
	var b cryptobyte.Builder
	codec.ExternalSender{SignatureKey: a.pub, Credential: a.cred}.Marshal(&b)
	es, err := b.Bytes()
	if err != nil {
		return nil, fail(err)
	}
	id := s.newID()
	s.signers[id] = a
	return &pb.CreateExternalSignerResponse{SignerId: id, ExternalSender: es}, nil
}

// AddExternalSigner implements pb.MLSClientServer: a GroupContextExtensions
// proposal that appends the sender to the external_senders extension.
func (s *Server) AddExternalSigner(_ context.Context, req *pb.AddExternalSignerRequest) (*pb.ProposalResponse, error) {
	// The state keeps the signer it adds (if this server created it).
	signer := uint32(0)
	resp, err := s.proposeWith(req.StateId, func(a *actor) (codec.Proposal, error) {
		d := codec.NewDecoder(req.ExternalSender)
		var es codec.ExternalSender
		es.Unmarshal(d)
		if err := d.Finish("ExternalSender"); err != nil {
			return codec.Proposal{}, status.Errorf(codes.InvalidArgument, "external sender: %v", err)
		}
		for id, sg := range s.signers {
			if bytes.Equal(sg.pub, es.SignatureKey) {
				signer = id
			}
		}
		var exts codec.Extensions
		found := false
		for _, e := range a.st.GroupContext().Extensions {
			if e.ExtensionType == codec.ExtensionExternalSenders {
				list, err := codec.DecodeExternalSenders(e.ExtensionData)
				if err != nil {
					return codec.Proposal{}, err
				}
				data, err := append(list, es).Encode()
				if err != nil {
					return codec.Proposal{}, err
				}
				e = codec.Extension{ExtensionType: e.ExtensionType, ExtensionData: data}
				found = true
			}
			exts = append(exts, e)
		}
		if !found {
			data, err := codec.ExternalSenders{es}.Encode()
			if err != nil {
				return codec.Proposal{}, err
			}
			exts = append(exts, codec.Extension{ExtensionType: codec.ExtensionExternalSenders, ExtensionData: data})
		}
		return gceProposal(exts), nil
	})
	if err == nil && signer != 0 {
		defer s.lock()()
		if _, ok := s.states[req.StateId]; ok {
			s.keep(req.StateId, signer)
		}
	}
	return resp, err
}

// ExternalSignerProposal implements pb.MLSClientServer: a proposal sent
// by an external sender, for the group of the GroupInfo (whose members the
// ratchet tree gives, to find the leaf of a Remove).
func (s *Server) ExternalSignerProposal(_ context.Context, req *pb.ExternalSignerProposalRequest) (*pb.ProposalResponse, error) {
	defer s.lock()()
	a, ok := s.signers[req.SignerId]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "unknown signer id %d", req.SignerId)
	}
	gi, err := groupInfoOf(req.GroupInfo)
	if err != nil {
		return nil, err
	}
	leaf := func(identity []byte) (codec.Remove, error) {
		tree, err := codec.DecodeRatchetTree(req.RatchetTree)
		if err != nil {
			return codec.Remove{}, fmt.Errorf("ratchet tree: %v", err)
		}
		for i := 0; i < len(tree); i += 2 {
			if n := tree[i]; n != nil && n.Leaf != nil && bytes.Equal(n.Leaf.Credential.Identity, identity) {
				return codec.Remove{Removed: treemath.LeafIndex(i / 2)}, nil
			}
		}
		return codec.Remove{}, fmt.Errorf("no member with identity %q", identity)
	}
	p, err := describe(req.Description, gi.GroupContext.GroupID, leaf)
	if err != nil {
		return nil, fail(err)
	}
	effs, err := a.apply(transitions.ExternalPropose{At: now(), GroupInfo: req.GroupInfo, SignatureKey: a.pub, Proposal: p}, transitions.Policy{})
	if err != nil {
		return nil, fail(err)
	}
	return &pb.ProposalResponse{Proposal: sentMessage(effs)}, nil
}

// Free implements pb.MLSClientServer: it drops the state and the
// records (transactions, external signers, reinit records) that no other
// live state uses; given the id of a record no live state uses, it drops
// that record.
func (s *Server) Free(_ context.Context, req *pb.FreeRequest) (*pb.FreeResponse, error) {
	defer s.lock()()
	s.free(req.StateId)
	return &pb.FreeResponse{}, nil
}
