package mls

import (
	"reflect"
	"slices"
	"testing"

	"github.com/mlscore/mlscore/effects"
)

// shellHandles says, for every field of effects.Ready, what the shell does
// with that kind of effect. A new effect kind is a new field of Ready:
// TestReadyFieldsHandled fails until its handling is written here (and in
// the code), so no kind is ignored silently.
var shellHandles = map[string]string{
	"Persist":               "runWith/commitSecrets: stored in the operation's batch (secretOps), then the key store (applyKeys)",
	"Delete":                "runWith/commitSecrets: erased in the same batch, then from the key store",
	"Send.Messages":         "returned to the application: Outgoing.Commit, or the message of Send/Propose/Leave (sentMessage)",
	"Send.Welcomes":         "returned in Outgoing.Welcome and Outgoing.WelcomeTo (outgoingOf)",
	"Send.GroupInfos":       "returned in Outgoing.GroupInfo and by Group.GroupInfo (outgoingOf)",
	"Deliver.Application":   "ProcessedMessage of kind ApplicationMessage; kept until Ack with Options.AtLeastOnce",
	"Deliver.Proposals":     "ProcessedMessage of kind ProposalMessage",
	"Deliver.Commits":       "ProcessedMessage of kind CommitMessage, with the StagedCommit",
	"Deliver.Epochs":        "not reported separately: Group.Epoch and the merged StagedCommit give the same facts",
	"Deliver.Removed":       "not reported separately: Group.Active turns false and StagedCommit.Removals names who removed us",
	"Deliver.Exported":      "returned by Group.Export",
	"Deliver.KeyPackages":   "returned by Client.KeyPackage/KeyPackageWith",
	"Deliver.SignatureKeys": "the client's (or the updated leaf's) new signature public key",
	"Deliver.Welcomes":      "StagedWelcome's facts (StageWelcome)",
	"Deliver.Joined":        "not reported separately: JoinGroup/Accept return the Group",
}

// readyFields returns the paths of Ready's slice fields ("Send.Messages").
func readyFields(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		switch f.Type.Kind() {
		case reflect.Struct:
			out = append(out, readyFields(f.Type, prefix+f.Name+".")...)
		case reflect.Slice:
			out = append(out, prefix+f.Name)
		}
	}
	return out
}

func TestReadyFieldsHandled(t *testing.T) {
	fields := readyFields(reflect.TypeOf(effects.Ready{}), "")
	if len(fields) < 15 {
		t.Fatalf("effects.Ready has only %d fields: %v", len(fields), fields)
	}
	for _, f := range fields {
		if shellHandles[f] == "" {
			t.Errorf("effects.Ready.%s: the shell does not say what it does with it (shellHandles)", f)
		}
	}
	for f := range shellHandles {
		if !slices.Contains(fields, f) {
			t.Errorf("shellHandles names %s, which effects.Ready does not have", f)
		}
	}
}
