// Package proto holds the Go code generated from mls_client.proto, the
// MLSClient gRPC interface of the MLS working group's interop test-runner
// (github.com/mlswg/mls-implementations, interop/proto/mls_client.proto).
//
// mls_client.proto here is a verbatim copy of ../../shared/interop/mls_client.proto
// (itself the working group's file); `go generate` refreshes the copy from
// there when it exists and regenerates mls_client.pb.go and
// mls_client_grpc.pb.go. It needs protoc, protoc-gen-go and
// protoc-gen-go-grpc on PATH; see ../README.md.
package proto

//go:generate sh -c "if [ -f ../../../shared/interop/mls_client.proto ]; then cp ../../../shared/interop/mls_client.proto mls_client.proto; fi"
//go:generate protoc --proto_path=. --go_out=. --go_opt=paths=source_relative --go_opt=Mmls_client.proto=github.com/mlscore/mlscore/interop/proto --go-grpc_out=. --go-grpc_opt=paths=source_relative --go-grpc_opt=Mmls_client.proto=github.com/mlscore/mlscore/interop/proto mls_client.proto
