package runner

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/mlscore/mlscore/interop/proto"
	"github.com/mlscore/mlscore/interop/server"
)

// configsDir is where the working group's scenario configs are:
// $MLS_INTEROP_CONFIGS, else shared/interop/configs beside the repository.
func configsDir() string {
	if d := os.Getenv("MLS_INTEROP_CONFIGS"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "interop", "configs")
}

// requireVectors reports whether MLS_REQUIRE_VECTORS (set by .ci/run) asks
// for the working group's files to be present: then missing configs fail
// TestConfigs instead of skipping it.
func requireVectors() bool {
	v := os.Getenv("MLS_REQUIRE_VECTORS")
	return v != "" && v != "0"
}

// startServers starts n in-process MLSClient servers on loopback ports
// and returns clients connected to them.
func startServers(t testing.TB, n int) []pb.MLSClientClient {
	t.Helper()
	var clients []pb.MLSClientClient
	for range n {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		gs := grpc.NewServer()
		pb.RegisterMLSClientServer(gs, server.New())
		go gs.Serve(lis)
		t.Cleanup(gs.Stop)
		conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		clients = append(clients, pb.NewMLSClientClient(conn))
	}
	return clients
}

// deepPrefix is how many steps of deep_random run by default, and in the
// CI's run under suites 2 and 3.
const deepPrefix = 300

// deepMode is MLS_INTEROP_DEEP: "" (the default: deepPrefix steps of
// deep_random in three combinations), "one" (CI: the whole script under
// suite 1 with encrypted handshakes, deepPrefix steps in the two other
// combinations) or "full" (the whole script in every combination).
func deepMode() string { return os.Getenv("MLS_INTEROP_DEEP") }

// suites are the cipher suites every script runs under.
var suites = []uint32{1, 2, 3}

// TestConfigs runs every script of every config against two in-process
// servers (actors alternate between them), under suites 1, 2 and 3, with
// handshakes encrypted and in the clear. deep_random, a 1670-step script
// whose group grows to 70 members, is sampled to keep the test's time
// bounded: its first deepPrefix steps under suites 1 and 3 (encrypted) and
// 2 (in the clear); MLS_INTEROP_DEEP=one (set by CI) runs the whole script
// under suite 1 with encrypted handshakes, MLS_INTEROP_DEEP=full runs it
// whole in every combination (several minutes). At the end the test logs
// each config as passed or failed. Without configs it skips, or fails
// when MLS_REQUIRE_VECTORS is set.
func TestConfigs(t *testing.T) {
	dir := configsDir()
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		if requireVectors() {
			t.Fatalf("MLS_REQUIRE_VECTORS is set and there are no interop configs in %s (set MLS_INTEROP_CONFIGS)", dir)
		}
		t.Skipf("no interop configs in %s (set MLS_INTEROP_CONFIGS)", dir)
	}
	sort.Strings(files)
	clients := startServers(t, 2)

	var mu sync.Mutex
	failed := map[string][]string{}
	var order []string
	t.Cleanup(func() {
		var lines []string
		passed := 0
		for _, c := range order {
			if f := failed[c]; len(f) > 0 {
				lines = append(lines, fmt.Sprintf("interop %-20s failed (%s)", c, strings.Join(f, ", ")))
			} else {
				passed++
				lines = append(lines, fmt.Sprintf("interop %-20s passed", c))
			}
		}
		t.Logf("per config:\n%s\ninterop configs: %d passed, %d failed", strings.Join(lines, "\n"), passed, len(order)-passed)
	})

	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		order = append(order, name)
		cfg, err := LoadConfig(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			for _, script := range cfg.Names() {
				for si, cs := range suites {
					for _, encrypt := range []bool{true, false} {
						steps := cfg.Scripts[script]
						if name == "deep_random" && deepMode() != "full" {
							if encrypt != (si%2 == 0) {
								continue
							}
							if cs != 1 || deepMode() != "one" {
								steps = steps[:min(deepPrefix, len(steps))]
							}
						}
						mode := "private"
						if !encrypt {
							mode = "public"
						}
						label := fmt.Sprintf("%s/suite%d/%s", script, cs, mode)
						t.Run(label, func(t *testing.T) {
							run := Run{Clients: clients, Suite: cs, Suites: suites, Encrypt: encrypt}
							if err := run.RunScript(steps); err != nil {
								mu.Lock()
								failed[name] = append(failed[name], label)
								mu.Unlock()
								t.Fatal(err)
							}
						})
					}
				}
			}
		})
	}
}
