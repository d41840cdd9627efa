// Command mls-interop-runner runs the scripts of an interop scenario
// config against MLSClient gRPC servers, with the semantics of the MLS
// working group's test-runner (see package runner):
//
//	mls-interop-runner -config ../../shared/interop/configs/commit.json \
//	    -client localhost:50051 -client localhost:50052 -suite 1
//
// Actors alternate between the clients. Every script runs under the
// chosen suite (default: 1, 2 and 3), with encrypted and plaintext
// handshakes unless -private or -public. It prints one line per run and
// exits non-zero if any failed.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/mlscore/mlscore/interop/proto"
	"github.com/mlscore/mlscore/interop/runner"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var clients list
	flag.Var(&clients, "client", "host:port of an MLSClient server (repeatable)")
	config := flag.String("config", "", "scenario config (JSON)")
	suiteOpt := flag.Int("suite", 0, "only this cipher suite (default 1, 2 and 3; 77 is X-Wing, 0x004D)")
	private := flag.Bool("private", false, "only encrypted handshakes")
	public := flag.Bool("public", false, "only plaintext handshakes")
	flag.Parse()
	if *config == "" || len(clients) == 0 {
		flag.Usage()
		os.Exit(2)
	}
	cfg, err := runner.LoadConfig(*config)
	if err != nil {
		log.Fatal(err)
	}
	var conns []pb.MLSClientClient
	for _, addr := range clients {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			log.Fatal(err)
		}
		defer conn.Close()
		c := pb.NewMLSClientClient(conn)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		name, err := c.Name(ctx, &pb.NameRequest{})
		cancel()
		if err != nil {
			log.Fatalf("%s: %v", addr, err)
		}
		log.Printf("client %s: %s", addr, name.Name)
		conns = append(conns, c)
	}
	suites := []uint32{1, 2, 3}
	if *suiteOpt != 0 {
		suites = []uint32{uint32(*suiteOpt)}
	}
	modes := []bool{true, false}
	if *private && !*public {
		modes = []bool{true}
	} else if *public && !*private {
		modes = []bool{false}
	}
	passed, failed := 0, 0
	for _, name := range cfg.Names() {
		for _, cs := range suites {
			for _, enc := range modes {
				run := runner.Run{Clients: conns, Suite: cs, Suites: []uint32{1, 2, 3}, Encrypt: enc}
				err := run.RunScript(cfg.Scripts[name])
				result := "ok"
				if err != nil {
					failed++
					result = "FAIL: " + err.Error()
				} else {
					passed++
				}
				fmt.Printf("%s suite=%d encrypt=%v %s\n", name, cs, enc, result)
			}
		}
	}
	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}
