package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlscore/mlscore/internal/atomicfile"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/vectors"
)

const vectorsExportUsage = "mls vectors export [-o FILE] LOG"

// runVectorsExport writes a member's history, from a Full event log (mls
// demo -out writes one per member), as a passive-client test vector in the
// working group's JSON format; mls vectors FILE runs it back.
func runVectorsExport(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("vectors export", stderr)
	out := fs.String("o", "", "output file (default: passive-client-NAME.json beside LOG, NAME the log's base name)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s\n\n"+
			"Writes the history of the member whose Full event log LOG is (mls demo -out DIR writes one\n"+
			"per member) as a passive-client test vector in the MLS working group's JSON format: the\n"+
			"key package and private keys the member joined with, its Welcome, and each epoch it then\n"+
			"followed (the proposals and commit it received, external commits included, the epoch\n"+
			"authenticator after it). The history ends where the member stops being passive (its own\n"+
			"proposal or commit, a second join, its removal) or after a ReInit's epoch. The file is checked with mls's own runner before it is written; run\n"+
			"it with 'mls vectors FILE' here, or give it to another implementation.\n", vectorsExportUsage)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		msg := "no LOG given"
		if len(pos) > 1 {
			msg = fmt.Sprintf("one LOG expected, got %d arguments", len(pos))
		}
		fmt.Fprintf(stderr, "mls vectors export: %s\nusage: %s\n", msg, vectorsExportUsage)
		return 2
	}
	path := pos[0]
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "mls vectors export: %v\n", err)
		return 1
	}
	l, err := replay.ReadLog(data)
	if err != nil {
		fmt.Fprintf(stderr, "mls vectors export: %s: %v\n", path, err)
		return 1
	}
	res, err := replay.ReplayLog(l, nil)
	if err != nil {
		fmt.Fprintf(stderr, "mls vectors export: %s: the log does not replay: %v\n", path, err)
		return 1
	}
	ex, err := vectors.ExportPassiveClient(res, nil)
	if err != nil {
		fmt.Fprintf(stderr, "mls vectors export: %s: %v\n", path, err)
		return 1
	}
	dst := *out
	if dst == "" {
		base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		dst = filepath.Join(filepath.Dir(path), "passive-client-"+base+".json")
	}
	if err := atomicfile.Write(dst, ex.JSON); err != nil {
		fmt.Fprintf(stderr, "mls vectors export: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: passive-client vector, suite %d, %d epochs, %d proposals (records %d to %d; stopped: %s)\n",
		dst, ex.Suite, ex.Epochs, ex.Proposals, ex.JoinSeq, ex.StopSeq, ex.Stop)
	return 0
}
