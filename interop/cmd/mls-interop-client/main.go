// Command mls-interop-client serves the MLSClient gRPC interface of the
// MLS working group's interop test-runner (interop/proto) on top of
// mlscore, like the working group's reference clients:
//
//	mls-interop-client -port 50051
//
// then point the test-runner at it with -client localhost:50051.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"

	pb "github.com/mlscore/mlscore/interop/proto"
	"github.com/mlscore/mlscore/interop/server"
)

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on")
	port := flag.Int("port", 50051, "port to listen on")
	flag.Parse()

	lis, err := net.Listen("tcp", net.JoinHostPort(*host, fmt.Sprint(*port)))
	if err != nil {
		log.Fatal(err)
	}
	gs := grpc.NewServer()
	pb.RegisterMLSClientServer(gs, server.New())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		gs.GracefulStop()
	}()
	log.Printf("%s MLSClient listening on %s", server.Name, lis.Addr())
	if err := gs.Serve(lis); err != nil {
		log.Fatal(err)
	}
}
