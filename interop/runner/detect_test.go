package runner

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pb "github.com/mlscore/mlscore/interop/proto"
	"github.com/mlscore/mlscore/interop/server"
)

// serve starts srv on a loopback port and returns a client of it.
func serve(t *testing.T, srv pb.MLSClientServer) pb.MLSClientClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	pb.RegisterMLSClientServer(gs, srv)
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pb.NewMLSClientClient(conn)
}

func rawScript(t *testing.T, src string) []json.RawMessage {
	t.Helper()
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(src), &raw); err != nil {
		t.Fatal(err)
	}
	return raw
}

// A script that needs no shared configs: every kind of group-changing step.
const smoke = `[
  {"action": "createGroup", "actor": "alice", "members": ["bob", "carol"]},
  {"action": "createKeyPackage", "actor": "dave"},
  {"action": "installExternalPSK", "clients": ["alice", "bob", "carol", "dave"]},
  {"action": "addProposal", "actor": "bob", "keyPackage": 1},
  {"action": "updateProposal", "actor": "carol"},
  {"action": "externalPSKProposal", "actor": "alice", "pskID": 2},
  {"action": "fullCommit", "actor": "alice", "byReference": [3, 4, 5], "members": ["bob", "carol"], "joiners": ["dave"]},
  {"action": "protect", "actor": "dave", "authenticatedData": "aad", "plaintext": "hi"},
  {"action": "unprotect", "actor": "alice", "ciphertext": 7},
  {"action": "externalJoin", "actor": "carol", "joiner": "erin", "members": ["alice", "bob", "dave"], "externalTree": true},
  {"action": "fullCommit", "actor": "erin", "byValue": [{"proposalType": "remove", "removed": "bob"}], "members": ["alice", "carol", "dave"]},
  {"action": "branch", "actor": "alice", "members": ["carol", "erin"], "forcePath": true}
]`

func TestSmokeScript(t *testing.T) {
	clients := []pb.MLSClientClient{serve(t, server.New()), serve(t, server.New())}
	// 0x004D: the X-Wing suite, as a runner asks for it with -suite 77.
	for _, cs := range []uint32{1, 2, 3, 5, 7, 0x004D} {
		for _, enc := range []bool{true, false} {
			if err := (Run{Clients: clients, Suite: cs, Encrypt: enc}).RunScript(rawScript(t, smoke)); err != nil {
				t.Errorf("suite %d encrypt %v: %v", cs, enc, err)
			}
		}
	}
}

// liar reports a wrong StateAuth secret.
type liar struct{ *server.Server }

func (l liar) StateAuth(ctx context.Context, req *pb.StateAuthRequest) (*pb.StateAuthResponse, error) {
	resp, err := l.Server.StateAuth(ctx, req)
	if err == nil {
		resp.StateAuthSecret = append(resp.StateAuthSecret, 1)
	}
	return resp, err
}

// tamperer flips a bit of every commit it creates.
type tamperer struct{ *server.Server }

func (t tamperer) Commit(ctx context.Context, req *pb.CommitRequest) (*pb.CommitResponse, error) {
	resp, err := t.Server.Commit(ctx, req)
	if err == nil && len(resp.Commit) > 0 {
		resp.Commit[len(resp.Commit)-1] ^= 1
	}
	return resp, err
}

func TestRunnerDetectsFailures(t *testing.T) {
	const s = `[
	  {"action": "createGroup", "actor": "alice"},
	  {"action": "createKeyPackage", "actor": "bob"},
	  {"action": "fullCommit", "actor": "alice", "byValue": [{"proposalType": "add", "keyPackage": 1}], "joiners": ["bob"]},
	  {"action": "fullCommit", "actor": "alice", "members": ["bob"]}
	]`
	for _, tc := range []struct {
		name  string
		alice pb.MLSClientServer
		step  int
		want  string
	}{
		{"state auth disagreement", liar{server.New()}, 2, "do not agree"},
		{"tampered commit", tamperer{server.New()}, 3, "HandleCommit at bob"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Actors are sorted: alice plays on the first client.
			clients := []pb.MLSClientClient{serve(t, tc.alice), serve(t, server.New())}
			err := (Run{Clients: clients, Suite: 1, Encrypt: true}).RunScript(rawScript(t, s))
			var se *StepError
			if !errors.As(err, &se) || se.Index != tc.step || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a failure at step %d containing %q", err, tc.step, tc.want)
			}
		})
	}
}

func TestServerErrors(t *testing.T) {
	c := serve(t, server.New())
	ctx := context.Background()
	if _, err := c.StateAuth(ctx, &pb.StateAuthRequest{StateId: 99}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown state: %v", err)
	}
	if _, err := c.CreateGroup(ctx, &pb.CreateGroupRequest{GroupId: []byte("g"), CipherSuite: 0x7777, Identity: []byte("a")}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("unknown suite: %v", err)
	}
	g, err := c.CreateGroup(ctx, &pb.CreateGroupRequest{GroupId: []byte("g"), CipherSuite: 1, Identity: []byte("a")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Unprotect(ctx, &pb.UnprotectRequest{StateId: g.StateId, Ciphertext: []byte{0, 1, 0, 2}}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("garbage ciphertext: %v", err)
	}
	x1, err := c.Export(ctx, &pb.ExportRequest{StateId: g.StateId, Label: "l", Context: []byte("c"), KeyLength: 32})
	if err != nil || len(x1.ExportedSecret) != 32 {
		t.Fatalf("export: %v", err)
	}
	if _, err := c.Free(ctx, &pb.FreeRequest{StateId: g.StateId}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StateAuth(ctx, &pb.StateAuthRequest{StateId: g.StateId}); status.Code(err) != codes.NotFound {
		t.Errorf("freed state: %v", err)
	}
	sc, err := c.SupportedCiphersuites(ctx, &pb.SupportedCiphersuitesRequest{})
	if err != nil || !slices.Equal(sc.Ciphersuites, []uint32{1, 2, 3, 4, 5, 6, 7, 0x004D}) {
		t.Errorf("suites: %v %v; want 1 to 7 and 0x004D (X-Wing)", sc, err)
	}
}
