// Package runner is a small reimplementation of the MLS working group's
// interop test-runner (github.com/mlswg/mls-implementations,
// interop/test-runner): it reads a scenario config (configs/*.json: named
// scripts of steps such as createGroup, fullCommit, externalJoin, reinit)
// and drives MLSClient gRPC servers through each script, with the
// test-runner's semantics:
//
//   - step i's outputs (key_package, proposal, commit, welcome, ciphertext,
//     psk_id, ...) are cached under i, and later steps name them by index
//     (keyPackage, byReference, ciphertext, pskID);
//   - a fullCommit is Commit at the actor, HandlePendingCommit there,
//     HandleCommit (with the by-reference proposals) at each of members and
//     JoinGroup at each of joiners, and every one of them must report the
//     committer's epoch authenticator; createGroup with members, externalJoin,
//     reinit and branch likewise check that everyone agrees on the epoch
//     authenticator;
//   - reinit and externalSignerProposal pick a new group id (the first
//     group's id + "++") and, when asked, a new cipher suite.
//
// In addition to the test-runner's epoch authenticator checks, after every
// step the runner asks each member of the current group (the actors the
// last group-changing step named) for StateAuth and requires them all to
// agree, as the test-runner's older verifyStateAuth step did.
//
// Where the reference runner reads a flag under a spelling the configs do
// not use (branch's force_path and external_tree; the configs say
// forcePath and externalTree), this runner accepts both spellings, so
// those scripts exercise what their names say.
package runner

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"time"

	"google.golang.org/grpc"

	pb "github.com/mlscore/mlscore/interop/proto"
)

// Config is a scenario config: named scripts.
type Config struct {
	Scripts map[string][]json.RawMessage `json:"scripts"`
}

// LoadConfig reads a config file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// Names returns the config's script names, sorted.
func (c *Config) Names() []string {
	var out []string
	for n := range c.Scripts {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Extension is an extension as the configs write it (extension_data in
// base64).
type Extension struct {
	ExtensionType uint32 `json:"extension_type"`
	ExtensionData []byte `json:"extension_data"`
}

// Description is a proposal description of byValue and
// externalSignerProposal.
type Description struct {
	ProposalType      string      `json:"proposalType"`
	KeyPackage        int         `json:"keyPackage"`
	Removed           string      `json:"removed"`
	PskID             int         `json:"pskID"`
	EpochID           uint64      `json:"epochID"`
	Extensions        []Extension `json:"extensions"`
	ChangeGroupID     bool        `json:"changeGroupID"`
	ChangeCipherSuite bool        `json:"changeCipherSuite"`
}

// Step is one step of a script: the union of every action's parameters.
type Step struct {
	Action string `json:"action"`
	Actor  string `json:"actor"`

	Members []string `json:"members"`
	Joiners []string `json:"joiners"`
	Joiner  string   `json:"joiner"`
	Clients []string `json:"clients"`

	Welcome    int    `json:"welcome"`
	KeyPackage int    `json:"keyPackage"`
	Removed    string `json:"removed"`
	PskID      int    `json:"pskID"`
	EpochID    uint64 `json:"epochID"`
	PSKs       []int  `json:"psks"`
	Commit     int    `json:"commit"`
	Ciphertext int    `json:"ciphertext"`

	AuthenticatedData string `json:"authenticatedData"`
	Plaintext         string `json:"plaintext"`

	Extensions  []Extension   `json:"extensions"`
	ByReference []int         `json:"byReference"`
	ByValue     []Description `json:"byValue"`

	ForcePath         bool `json:"force_path"`
	ExternalTree      bool `json:"external_tree"`
	ForcePathCamel    bool `json:"forcePath"`
	ExternalTreeCamel bool `json:"externalTree"`
	RemovePrior       bool `json:"removePrior"`

	// reinit
	Proposer               string `json:"proposer"`
	Committer              string `json:"committer"`
	Welcomer               string `json:"welcomer"`
	ChangeCipherSuite      bool   `json:"changeCipherSuite"`
	ChangeGroupID          bool   `json:"changeGroupID"`
	ExternalReinitProposal int    `json:"externalReinitProposal"`

	// external senders
	Signer      string      `json:"signer"`
	Member      string      `json:"member"`
	Description Description `json:"description"`
}

// ParseScript decodes a script's steps.
func ParseScript(raw []json.RawMessage) ([]Step, error) {
	steps := make([]Step, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &steps[i]); err != nil {
			return nil, fmt.Errorf("step %d: %w", i, err)
		}
		if steps[i].Action == "" {
			return nil, fmt.Errorf("step %d: no action", i)
		}
	}
	return steps, nil
}

// Actors returns the actors a script names, sorted: as the test-runner,
// actors, createGroup members, external joiners, new-member proposers and
// external signers.
func Actors(steps []Step) []string {
	set := map[string]bool{}
	for _, s := range steps {
		if s.Actor == "" {
			continue
		}
		set[s.Actor] = true
		switch s.Action {
		case "createGroup":
			for _, m := range s.Members {
				set[m] = true
			}
		case "externalJoin", "newMemberAddProposal":
			set[s.Joiner] = true
		case "addExternalSigner":
			set[s.Signer] = true
		}
	}
	// Steps without an actor (installExternalPSK, reinit) name clients
	// that some step with an actor named too, in the configs; be safe.
	for _, s := range steps {
		for _, l := range [][]string{s.Clients, s.Members, s.Joiners, {s.Proposer, s.Committer, s.Welcomer}} {
			for _, n := range l {
				if n != "" {
					set[n] = true
				}
			}
		}
	}
	var out []string
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// Run describes one run of a script: the clients, and the parameters the
// test-runner varies.
type Run struct {
	// Clients are the MLSClient servers; actor i (in Actors order) is
	// played by Clients[i % len(Clients)].
	Clients []pb.MLSClientClient
	// Suite is the cipher suite; Suites the suites that all clients
	// support, from which a reinit that changes the suite picks the next
	// one after the current.
	Suite  uint32
	Suites []uint32
	// Encrypt is the encrypt_handshake flag.
	Encrypt bool
	// Timeout bounds each RPC; zero means two minutes.
	Timeout time.Duration
}

// StepError reports the failing step of a script.
type StepError struct {
	Index int
	Step  json.RawMessage
	Err   error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("step %d %s: %v", e.Index, e.Step, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// script is the state of one run.
type script struct {
	run     Run
	suite   uint32
	clients map[string]pb.MLSClientClient
	stateID map[string]uint32
	txID    map[string]uint32
	signer  map[string]uint32
	cache   []map[string][]byte
	// group is the current group's members, for the StateAuth check; nil
	// when unknown (after a low-level step).
	group []string
}

// RunScript runs a script's steps in order and returns the first failure
// as a *StepError.
func (r Run) RunScript(raw []json.RawMessage) error {
	steps, err := ParseScript(raw)
	if err != nil {
		return err
	}
	if len(r.Clients) == 0 {
		return fmt.Errorf("no clients")
	}
	s := &script{
		run: r, suite: r.Suite, clients: map[string]pb.MLSClientClient{},
		stateID: map[string]uint32{}, txID: map[string]uint32{}, signer: map[string]uint32{},
		cache: make([]map[string][]byte, len(steps)),
	}
	for i, a := range Actors(steps) {
		s.clients[a] = r.Clients[i%len(r.Clients)]
	}
	for i := range s.cache {
		s.cache[i] = map[string][]byte{}
	}
	for i, st := range steps {
		err := s.step(i, st)
		if err == nil {
			err = s.checkStateAuth()
		}
		if err != nil {
			return &StepError{Index: i, Step: raw[i], Err: err}
		}
	}
	return nil
}

func (s *script) ctx() (context.Context, context.CancelFunc) {
	t := s.run.Timeout
	if t == 0 {
		t = 2 * time.Minute
	}
	return context.WithTimeout(context.Background(), t)
}

// call runs one RPC with the run's timeout.
func call[Req, Resp any](s *script, f func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	return f(ctx, req)
}

// rpcError reports that the MLSClient method failed at actor.
func rpcError(method, actor string, err error) error {
	return fmt.Errorf("%s at %s: %w", method, actor, err)
}

func (s *script) client(actor string) (pb.MLSClientClient, error) {
	c, ok := s.clients[actor]
	if !ok {
		return nil, fmt.Errorf("unknown actor %q", actor)
	}
	return c, nil
}

func (s *script) get(index int, key string) ([]byte, error) {
	if index < 0 || index >= len(s.cache) {
		return nil, fmt.Errorf("no step %d", index)
	}
	v, ok := s.cache[index][key]
	if !ok {
		return nil, fmt.Errorf("no %s at step %d", key, index)
	}
	return v, nil
}

func (s *script) put(index int, key string, v []byte) { s.cache[index][key] = v }

func extensions(exts []Extension) []*pb.Extension {
	var out []*pb.Extension
	for _, e := range exts {
		out = append(out, &pb.Extension{ExtensionType: e.ExtensionType, ExtensionData: e.ExtensionData})
	}
	return out
}

// newGroupID is the id of a reinitialized group: the first group's id,
// with "++" appended when the id changes.
func (s *script) newGroupID(change bool) ([]byte, error) {
	id, err := s.get(0, "group_id")
	if err != nil {
		return nil, err
	}
	if change {
		id = append(bytes.Clone(id), "++"...)
	}
	return id, nil
}

// changeSuite moves to the next suite of Run.Suites after the current one.
func (s *script) changeSuite() error {
	suites := s.run.Suites
	if len(suites) < 2 {
		return fmt.Errorf("no other cipher suite to change to")
	}
	i := slices.Index(suites, s.suite)
	s.suite = suites[(i+1)%len(suites)]
	return nil
}

func (s *script) describe(d Description) (*pb.ProposalDescription, error) {
	out := &pb.ProposalDescription{ProposalType: []byte(d.ProposalType)}
	var err error
	switch d.ProposalType {
	case "add":
		out.KeyPackage, err = s.get(d.KeyPackage, "key_package")
	case "remove":
		out.RemovedId = []byte(d.Removed)
	case "externalPSK":
		out.PskId, err = s.get(d.PskID, "psk_id")
	case "resumptionPSK":
		out.EpochId = d.EpochID
	case "groupContextExtensions":
		out.Extensions = extensions(d.Extensions)
	case "reinit":
		out.Extensions = extensions(d.Extensions)
		if d.ChangeCipherSuite {
			if err := s.changeSuite(); err != nil {
				return nil, err
			}
		}
		out.CipherSuite = s.suite
		out.GroupId, err = s.newGroupID(d.ChangeGroupID)
	default:
		err = fmt.Errorf("unknown proposal type %q", d.ProposalType)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *script) proposals(indices []int) ([][]byte, error) {
	var out [][]byte
	for _, i := range indices {
		p, err := s.get(i, "proposal")
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func union(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		for _, a := range l {
			if a != "" && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// checkStateAuth requires every member of the current group to report
// the same StateAuth secret.
func (s *script) checkStateAuth() error {
	if len(s.group) < 2 {
		return nil
	}
	var first []byte
	for i, m := range s.group {
		c, err := s.client(m)
		if err != nil {
			return err
		}
		id, ok := s.stateID[m]
		if !ok {
			return fmt.Errorf("StateAuth: %s has no state", m)
		}
		resp, err := call(s, c.StateAuth, &pb.StateAuthRequest{StateId: id})
		if err != nil {
			return rpcError("StateAuth", m, err)
		}
		if i == 0 {
			first = resp.StateAuthSecret
		} else if !bytes.Equal(first, resp.StateAuthSecret) {
			return fmt.Errorf("members do not agree on the state auth secret: %s and %s differ", s.group[0], m)
		}
	}
	return nil
}

func agree(who string, got, want []byte) error {
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s failed to agree on the epoch authenticator", who)
	}
	return nil
}

func (s *script) keyPackage(actor string) (txID uint32, kp []byte, err error) {
	c, err := s.client(actor)
	if err != nil {
		return 0, nil, err
	}
	resp, err := call(s, c.CreateKeyPackage, &pb.CreateKeyPackageRequest{CipherSuite: s.suite, Identity: []byte(actor)})
	if err != nil {
		return 0, nil, rpcError("CreateKeyPackage", actor, err)
	}
	return resp.TransactionId, resp.KeyPackage, nil
}

func (s *script) groupInfo(actor string, externalTree bool) (*pb.GroupInfoResponse, error) {
	c, err := s.client(actor)
	if err != nil {
		return nil, err
	}
	resp, err := call(s, c.GroupInfo, &pb.GroupInfoRequest{StateId: s.stateID[actor], ExternalTree: externalTree})
	if err != nil {
		return nil, rpcError("GroupInfo", actor, err)
	}
	return resp, nil
}

// commitAndDistribute is fullCommit (and createGroup's commit of Adds):
// Commit and HandlePendingCommit at the actor, HandleCommit at members,
// JoinGroup at joiners (with transaction ids txs), all agreeing.
func (s *script) commitAndDistribute(index int, actor string, req *pb.CommitRequest, members, joiners []string, txs map[string]uint32) error {
	c, err := s.client(actor)
	if err != nil {
		return err
	}
	req.StateId = s.stateID[actor]
	cr, err := call(s, c.Commit, req)
	if err != nil {
		return rpcError("Commit", actor, err)
	}
	if index >= 0 {
		s.put(index, "commit", cr.Commit)
		s.put(index, "welcome", cr.Welcome)
		if req.ExternalTree {
			s.put(index, "ratchet_tree", cr.RatchetTree)
		}
	}
	hp, err := call(s, c.HandlePendingCommit, &pb.HandlePendingCommitRequest{StateId: s.stateID[actor]})
	if err != nil {
		return rpcError("HandlePendingCommit", actor, err)
	}
	s.stateID[actor] = hp.StateId
	auth := hp.EpochAuthenticator
	if index >= 0 {
		s.put(index, "epoch_authenticator", auth)
	}
	for _, m := range members {
		mc, err := s.client(m)
		if err != nil {
			return err
		}
		resp, err := call(s, mc.HandleCommit, &pb.HandleCommitRequest{StateId: s.stateID[m], Proposal: req.ByReference, Commit: cr.Commit})
		if err != nil {
			return rpcError("HandleCommit", m, err)
		}
		if err := agree("member "+m, resp.EpochAuthenticator, auth); err != nil {
			return err
		}
		s.stateID[m] = resp.StateId
	}
	for _, j := range joiners {
		jc, err := s.client(j)
		if err != nil {
			return err
		}
		tx, ok := txs[j]
		if !ok {
			return fmt.Errorf("malformed step: no transaction for %s", j)
		}
		jr := &pb.JoinGroupRequest{TransactionId: tx, Welcome: cr.Welcome, EncryptHandshake: s.run.Encrypt, Identity: []byte(j)}
		if req.ExternalTree {
			jr.RatchetTree = cr.RatchetTree
		}
		resp, err := call(s, jc.JoinGroup, jr)
		if err != nil {
			return rpcError("JoinGroup", j, err)
		}
		if err := agree("joiner "+j, resp.EpochAuthenticator, auth); err != nil {
			return err
		}
		s.stateID[j] = resp.StateId
	}
	return nil
}

func (s *script) step(index int, st Step) error {
	switch st.Action {
	case "createGroup":
		c, err := s.client(st.Actor)
		if err != nil {
			return err
		}
		groupID := make([]byte, 16)
		rand.Read(groupID)
		groupID = fmt.Appendf(nil, "group-%x", groupID)
		resp, err := call(s, c.CreateGroup, &pb.CreateGroupRequest{
			GroupId: groupID, CipherSuite: s.suite, EncryptHandshake: s.run.Encrypt, Identity: []byte(st.Actor),
		})
		if err != nil {
			return rpcError("CreateGroup", st.Actor, err)
		}
		s.stateID[st.Actor] = resp.StateId
		s.put(index, "group_id", groupID)
		s.group = []string{st.Actor}
		if len(st.Members) == 0 {
			return nil
		}
		txs := map[string]uint32{}
		req := &pb.CommitRequest{}
		for _, m := range st.Members {
			tx, kp, err := s.keyPackage(m)
			if err != nil {
				return err
			}
			txs[m] = tx
			req.ByValue = append(req.ByValue, &pb.ProposalDescription{ProposalType: []byte("add"), KeyPackage: kp})
		}
		if err := s.commitAndDistribute(-1, st.Actor, req, nil, st.Members, txs); err != nil {
			return err
		}
		s.group = union([]string{st.Actor}, st.Members)

	case "createKeyPackage":
		tx, kp, err := s.keyPackage(st.Actor)
		if err != nil {
			return err
		}
		s.txID[st.Actor] = tx
		s.put(index, "key_package", kp)

	case "joinGroup":
		c, err := s.client(st.Actor)
		if err != nil {
			return err
		}
		welcome, err := s.get(st.Welcome, "welcome")
		if err != nil {
			return err
		}
		tx, ok := s.txID[st.Actor]
		if !ok {
			return fmt.Errorf("malformed step: no transaction for %s", st.Actor)
		}
		resp, err := call(s, c.JoinGroup, &pb.JoinGroupRequest{TransactionId: tx, Welcome: welcome, EncryptHandshake: s.run.Encrypt, Identity: []byte(st.Actor)})
		if err != nil {
			return rpcError("JoinGroup", st.Actor, err)
		}
		s.stateID[st.Actor] = resp.StateId
		s.group = nil

	case "externalJoin":
		externalTree := st.ExternalTree || st.ExternalTreeCamel
		gi, err := s.groupInfo(st.Actor, externalTree)
		if err != nil {
			return err
		}
		s.put(index, "group_info", gi.GroupInfo)
		s.put(index, "ratchet_tree", gi.RatchetTree)
		var psks []*pb.PreSharedKey
		for _, i := range st.PSKs {
			id, err := s.get(i, "psk_id")
			if err != nil {
				return err
			}
			secret, err := s.get(i, "psk_secret")
			if err != nil {
				return err
			}
			psks = append(psks, &pb.PreSharedKey{PskId: id, PskSecret: secret})
		}
		jc, err := s.client(st.Joiner)
		if err != nil {
			return err
		}
		jr, err := call(s, jc.ExternalJoin, &pb.ExternalJoinRequest{
			GroupInfo: gi.GroupInfo, RatchetTree: gi.RatchetTree, EncryptHandshake: s.run.Encrypt,
			Identity: []byte(st.Joiner), RemovePrior: st.RemovePrior, Psks: psks,
		})
		if err != nil {
			return rpcError("ExternalJoin", st.Joiner, err)
		}
		s.stateID[st.Joiner] = jr.StateId
		s.put(index, "commit", jr.Commit)
		s.put(index, "epoch_authenticator", jr.EpochAuthenticator)
		members := union(st.Members, []string{st.Actor})
		for _, m := range members {
			mc, err := s.client(m)
			if err != nil {
				return err
			}
			resp, err := call(s, mc.HandleCommit, &pb.HandleCommitRequest{StateId: s.stateID[m], Commit: jr.Commit})
			if err != nil {
				return rpcError("HandleCommit", m, err)
			}
			if err := agree("member "+m, resp.EpochAuthenticator, jr.EpochAuthenticator); err != nil {
				return err
			}
			s.stateID[m] = resp.StateId
		}
		s.group = union(members, []string{st.Joiner})

	case "installExternalPSK":
		id, secret := make([]byte, 32), make([]byte, 32)
		rand.Read(id)
		rand.Read(secret)
		s.put(index, "psk_id", id)
		s.put(index, "psk_secret", secret)
		for _, n := range st.Clients {
			c, err := s.client(n)
			if err != nil {
				return err
			}
			var target uint32
			if sid, ok := s.stateID[n]; ok {
				target = sid
			} else if tx, ok := s.txID[n]; ok {
				target = tx
			}
			if _, err := call(s, c.StorePSK, &pb.StorePSKRequest{StateOrTransactionId: target, PskId: id, PskSecret: secret}); err != nil {
				return rpcError("StorePSK", n, err)
			}
		}

	case "groupInfo":
		gi, err := s.groupInfo(st.Actor, st.ExternalTree || st.ExternalTreeCamel)
		if err != nil {
			return err
		}
		s.put(index, "group_info", gi.GroupInfo)
		s.put(index, "ratchet_tree", gi.RatchetTree)

	case "addProposal", "updateProposal", "removeProposal", "externalPSKProposal",
		"resumptionPSKProposal", "groupContextExtensionsProposal":
		c, err := s.client(st.Actor)
		if err != nil {
			return err
		}
		id := s.stateID[st.Actor]
		var resp *pb.ProposalResponse
		switch st.Action {
		case "addProposal":
			var kp []byte
			if kp, err = s.get(st.KeyPackage, "key_package"); err != nil {
				return err
			}
			resp, err = call(s, c.AddProposal, &pb.AddProposalRequest{StateId: id, KeyPackage: kp})
		case "updateProposal":
			resp, err = call(s, c.UpdateProposal, &pb.UpdateProposalRequest{StateId: id})
		case "removeProposal":
			resp, err = call(s, c.RemoveProposal, &pb.RemoveProposalRequest{StateId: id, RemovedId: []byte(st.Removed)})
		case "externalPSKProposal":
			var psk []byte
			if psk, err = s.get(st.PskID, "psk_id"); err != nil {
				return err
			}
			resp, err = call(s, c.ExternalPSKProposal, &pb.ExternalPSKProposalRequest{StateId: id, PskId: psk})
		case "resumptionPSKProposal":
			resp, err = call(s, c.ResumptionPSKProposal, &pb.ResumptionPSKProposalRequest{StateId: id, EpochId: st.EpochID})
		case "groupContextExtensionsProposal":
			resp, err = call(s, c.GroupContextExtensionsProposal, &pb.GroupContextExtensionsProposalRequest{StateId: id, Extensions: extensions(st.Extensions)})
		}
		if err != nil {
			return fmt.Errorf("%s at %s: %w", st.Action, st.Actor, err)
		}
		s.put(index, "proposal", resp.Proposal)

	case "fullCommit", "commit":
		byRef, err := s.proposals(st.ByReference)
		if err != nil {
			return err
		}
		req := &pb.CommitRequest{ByReference: byRef, ForcePath: st.ForcePath, ExternalTree: st.ExternalTree}
		for _, d := range st.ByValue {
			pd, err := s.describe(d)
			if err != nil {
				return err
			}
			req.ByValue = append(req.ByValue, pd)
		}
		if st.Action == "fullCommit" {
			if err := s.commitAndDistribute(index, st.Actor, req, st.Members, st.Joiners, s.txID); err != nil {
				return err
			}
			s.group = union([]string{st.Actor}, st.Members, st.Joiners)
			return nil
		}
		c, err := s.client(st.Actor)
		if err != nil {
			return err
		}
		req.StateId = s.stateID[st.Actor]
		cr, err := call(s, c.Commit, req)
		if err != nil {
			return rpcError("Commit", st.Actor, err)
		}
		s.put(index, "commit", cr.Commit)
		s.put(index, "welcome", cr.Welcome)
		if st.ExternalTree {
			s.put(index, "ratchet_tree", cr.RatchetTree)
		}
		s.group = nil

	case "handleCommit":
		c, err := s.client(st.Actor)
		if err != nil {
			return err
		}
		commit, err := s.get(st.Commit, "commit")
		if err != nil {
			return err
		}
		byRef, err := s.proposals(st.ByReference)
		if err != nil {
			return err
		}
		resp, err := call(s, c.HandleCommit, &pb.HandleCommitRequest{StateId: s.stateID[st.Actor], Proposal: byRef, Commit: commit})
		if err != nil {
			return rpcError("HandleCommit", st.Actor, err)
		}
		s.stateID[st.Actor] = resp.StateId
		s.group = nil

	case "handlePendingCommit":
		c, err := s.client(st.Actor)
		if err != nil {
			return err
		}
		resp, err := call(s, c.HandlePendingCommit, &pb.HandlePendingCommitRequest{StateId: s.stateID[st.Actor]})
		if err != nil {
			return rpcError("HandlePendingCommit", st.Actor, err)
		}
		s.stateID[st.Actor] = resp.StateId
		s.group = nil

	case "protect":
		c, err := s.client(st.Actor)
		if err != nil {
			return err
		}
		aad, pt := []byte(st.AuthenticatedData), []byte(st.Plaintext)
		resp, err := call(s, c.Protect, &pb.ProtectRequest{StateId: s.stateID[st.Actor], AuthenticatedData: aad, Plaintext: pt})
		if err != nil {
			return rpcError("Protect", st.Actor, err)
		}
		s.put(index, "authenticatedData", aad)
		s.put(index, "plaintext", pt)
		s.put(index, "ciphertext", resp.Ciphertext)

	case "unprotect":
		c, err := s.client(st.Actor)
		if err != nil {
			return err
		}
		ct, err := s.get(st.Ciphertext, "ciphertext")
		if err != nil {
			return err
		}
		resp, err := call(s, c.Unprotect, &pb.UnprotectRequest{StateId: s.stateID[st.Actor], Ciphertext: ct})
		if err != nil {
			return rpcError("Unprotect", st.Actor, err)
		}
		aad, _ := s.get(st.Ciphertext, "authenticatedData")
		pt, _ := s.get(st.Ciphertext, "plaintext")
		if !bytes.Equal(aad, resp.AuthenticatedData) {
			return fmt.Errorf("incorrect authenticated data")
		}
		if !bytes.Equal(pt, resp.Plaintext) {
			return fmt.Errorf("incorrect plaintext")
		}
		s.put(index, "authenticatedData", resp.AuthenticatedData)
		s.put(index, "plaintext", resp.Plaintext)

	case "reinit":
		return s.reinit(st)

	case "branch":
		return s.branch(st)

	case "newMemberAddProposal":
		gi, err := s.groupInfo(st.Actor, false)
		if err != nil {
			return err
		}
		jc, err := s.client(st.Joiner)
		if err != nil {
			return err
		}
		resp, err := call(s, jc.NewMemberAddProposal, &pb.NewMemberAddProposalRequest{GroupInfo: gi.GroupInfo, Identity: []byte(st.Joiner)})
		if err != nil {
			return rpcError("NewMemberAddProposal", st.Joiner, err)
		}
		s.txID[st.Joiner] = resp.TransactionId
		s.put(index, "proposal", resp.Proposal)

	case "addExternalSigner":
		sc, err := s.client(st.Signer)
		if err != nil {
			return err
		}
		sr, err := call(s, sc.CreateExternalSigner, &pb.CreateExternalSignerRequest{CipherSuite: s.suite, Identity: []byte(st.Signer)})
		if err != nil {
			return rpcError("CreateExternalSigner", st.Signer, err)
		}
		s.signer[st.Signer] = sr.SignerId
		c, err := s.client(st.Actor)
		if err != nil {
			return err
		}
		resp, err := call(s, c.AddExternalSigner, &pb.AddExternalSignerRequest{StateId: s.stateID[st.Actor], ExternalSender: sr.ExternalSender})
		if err != nil {
			return rpcError("AddExternalSigner", st.Actor, err)
		}
		s.put(index, "proposal", resp.Proposal)

	case "externalSignerProposal":
		gi, err := s.groupInfo(st.Member, true)
		if err != nil {
			return err
		}
		d, err := s.describe(st.Description)
		if err != nil {
			return err
		}
		c, err := s.client(st.Actor)
		if err != nil {
			return err
		}
		resp, err := call(s, c.ExternalSignerProposal, &pb.ExternalSignerProposalRequest{
			SignerId: s.signer[st.Actor], GroupInfo: gi.GroupInfo, RatchetTree: gi.RatchetTree, Description: d,
		})
		if err != nil {
			return rpcError("ExternalSignerProposal", st.Actor, err)
		}
		s.put(index, "proposal", resp.Proposal)

	default:
		return fmt.Errorf("unknown action %q", st.Action)
	}
	return nil
}

// reinit: the proposer proposes (or an external proposal is used), the
// committer commits it by reference, everyone else handles the commit,
// the welcomer founds the new group with everyone else's new key packages
// and everyone else joins it.
func (s *script) reinit(st Step) error {
	all := union([]string{st.Proposer, st.Committer, st.Welcomer}, st.Members)
	var notCommitter, notWelcomer []string
	for _, a := range all {
		if a != st.Committer {
			notCommitter = append(notCommitter, a)
		}
		if a != st.Welcomer {
			notWelcomer = append(notWelcomer, a)
		}
	}
	groupID, err := s.newGroupID(st.ChangeGroupID)
	if err != nil {
		return err
	}
	if st.ChangeCipherSuite {
		if err := s.changeSuite(); err != nil {
			return err
		}
	}
	var proposal []byte
	if st.Proposer != "" {
		c, err := s.client(st.Proposer)
		if err != nil {
			return err
		}
		resp, err := call(s, c.ReInitProposal, &pb.ReInitProposalRequest{
			StateId: s.stateID[st.Proposer], CipherSuite: s.suite, GroupId: groupID, Extensions: extensions(st.Extensions),
		})
		if err != nil {
			return rpcError("ReInitProposal", st.Proposer, err)
		}
		proposal = resp.Proposal
	} else if proposal, err = s.get(st.ExternalReinitProposal, "proposal"); err != nil {
		return err
	}

	reinitID := map[string]uint32{}
	keyPackage := map[string][]byte{}
	c, err := s.client(st.Committer)
	if err != nil {
		return err
	}
	cr, err := call(s, c.ReInitCommit, &pb.CommitRequest{StateId: s.stateID[st.Committer], ByReference: [][]byte{proposal}})
	if err != nil {
		return rpcError("ReInitCommit", st.Committer, err)
	}
	hp, err := call(s, c.HandlePendingReInitCommit, &pb.HandlePendingCommitRequest{StateId: s.stateID[st.Committer]})
	if err != nil {
		return rpcError("HandlePendingReInitCommit", st.Committer, err)
	}
	reinitID[st.Committer], keyPackage[st.Committer] = hp.ReinitId, hp.KeyPackage
	for _, m := range notCommitter {
		mc, err := s.client(m)
		if err != nil {
			return err
		}
		resp, err := call(s, mc.HandleReInitCommit, &pb.HandleCommitRequest{StateId: s.stateID[m], Proposal: [][]byte{proposal}, Commit: cr.Commit})
		if err != nil {
			return rpcError("HandleReInitCommit", m, err)
		}
		if err := agree("member "+m, resp.EpochAuthenticator, hp.EpochAuthenticator); err != nil {
			return err
		}
		reinitID[m], keyPackage[m] = resp.ReinitId, resp.KeyPackage
	}

	var kps [][]byte
	for _, m := range notWelcomer {
		kps = append(kps, keyPackage[m])
	}
	externalTree := st.ExternalTree || st.ExternalTreeCamel
	wc, err := s.client(st.Welcomer)
	if err != nil {
		return err
	}
	wr, err := call(s, wc.ReInitWelcome, &pb.ReInitWelcomeRequest{
		ReinitId: reinitID[st.Welcomer], KeyPackage: kps, ForcePath: st.ForcePath || st.ForcePathCamel, ExternalTree: externalTree,
	})
	if err != nil {
		return rpcError("ReInitWelcome", st.Welcomer, err)
	}
	s.stateID[st.Welcomer] = wr.StateId
	var tree []byte
	if externalTree {
		tree = wr.RatchetTree
	}
	for _, m := range notWelcomer {
		mc, err := s.client(m)
		if err != nil {
			return err
		}
		resp, err := call(s, mc.HandleReInitWelcome, &pb.HandleReInitWelcomeRequest{ReinitId: reinitID[m], Welcome: wr.Welcome, RatchetTree: tree})
		if err != nil {
			return rpcError("HandleReInitWelcome", m, err)
		}
		if err := agree("member "+m, resp.EpochAuthenticator, wr.EpochAuthenticator); err != nil {
			return err
		}
		s.stateID[m] = resp.StateId
	}
	s.group = all
	return nil
}

// branch: the members make key packages, the actor creates the subgroup,
// the members join it.
func (s *script) branch(st Step) error {
	txs := map[string]uint32{}
	var kps [][]byte
	for _, m := range st.Members {
		tx, kp, err := s.keyPackage(m)
		if err != nil {
			return err
		}
		txs[m] = tx
		kps = append(kps, kp)
	}
	externalTree := st.ExternalTree || st.ExternalTreeCamel
	c, err := s.client(st.Actor)
	if err != nil {
		return err
	}
	groupID := make([]byte, 16)
	rand.Read(groupID)
	br, err := call(s, c.CreateBranch, &pb.CreateBranchRequest{
		StateId: s.stateID[st.Actor], GroupId: fmt.Appendf(nil, "branch-%x", groupID), Extensions: extensions(st.Extensions),
		KeyPackages: kps, ForcePath: st.ForcePath || st.ForcePathCamel, ExternalTree: externalTree,
	})
	if err != nil {
		return rpcError("CreateBranch", st.Actor, err)
	}
	var tree []byte
	if externalTree {
		tree = br.RatchetTree
	}
	for _, m := range st.Members {
		mc, err := s.client(m)
		if err != nil {
			return err
		}
		resp, err := call(s, mc.HandleBranch, &pb.HandleBranchRequest{StateId: s.stateID[m], TransactionId: txs[m], Welcome: br.Welcome, RatchetTree: tree})
		if err != nil {
			return rpcError("HandleBranch", m, err)
		}
		if err := agree("member "+m, resp.EpochAuthenticator, br.EpochAuthenticator); err != nil {
			return err
		}
		s.stateID[m] = resp.StateId
	}
	s.stateID[st.Actor] = br.StateId
	s.group = union([]string{st.Actor}, st.Members)
	return nil
}
