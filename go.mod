module github.com/mlscore/mlscore

go 1.26.0

require (
	github.com/cloudflare/circl v1.6.5 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	pgregory.net/rapid v1.3.0 // indirect
)
