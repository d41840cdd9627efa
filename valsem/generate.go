package valsem

//go:generate go run ./internal/gendoc -o ../docs/validation.md -mutation testdata/mutation.txt
