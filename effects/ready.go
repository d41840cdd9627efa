package effects

// Ready is what one transition asks of its caller, grouped by phase in
// execution order, one typed field per effect kind (raft's Ready): a
// consumer reads the fields it acts on instead of switching over a list,
// and a new effect kind is a new field that the consumers' coverage tests
// (the shell's TestReadyFieldsHandled) name until they handle it.
type Ready struct {
	// Persist (PhasePersist): store each secret durably, with the new state.
	Persist []PersistSecret
	// Send (PhaseSend): hand these to the delivery service.
	Send Outgoing
	// Deliver (PhaseDeliver): tell the application.
	Deliver Delivered
	// Delete (PhaseDelete): erase each secret once the new state is durable.
	Delete []DeleteSecret
}

// Outgoing is the PhaseSend part of a Ready.
type Outgoing struct {
	Messages   []SendToGroup
	Welcomes   []SendWelcome
	GroupInfos []PublishGroupInfo
}

// Delivered is the PhaseDeliver part of a Ready.
type Delivered struct {
	Application   []DeliverApplication
	Proposals     []ProposalReceived
	Commits       []CommitStaged
	Epochs        []EpochAdvanced
	Removed       []RemovedFromGroup
	Exported      []Exported
	KeyPackages   []KeyPackageCreated
	SignatureKeys []SignatureKeyCreated
	Welcomes      []WelcomeStaged
	Joined        []Joined
}

// Group returns effs grouped by kind into a Ready; each field keeps the
// order of effs. Every effect kind has its field: the set is closed, and
// TestGroupCoversEveryKind checks this switch against the kinds declared.
func Group(effs []Effect) Ready {
	var r Ready
	for _, e := range effs {
		switch e := e.(type) {
		case PersistSecret:
			r.Persist = append(r.Persist, e)
		case DeleteSecret:
			r.Delete = append(r.Delete, e)
		case SendToGroup:
			r.Send.Messages = append(r.Send.Messages, e)
		case SendWelcome:
			r.Send.Welcomes = append(r.Send.Welcomes, e)
		case PublishGroupInfo:
			r.Send.GroupInfos = append(r.Send.GroupInfos, e)
		case DeliverApplication:
			r.Deliver.Application = append(r.Deliver.Application, e)
		case ProposalReceived:
			r.Deliver.Proposals = append(r.Deliver.Proposals, e)
		case CommitStaged:
			r.Deliver.Commits = append(r.Deliver.Commits, e)
		case EpochAdvanced:
			r.Deliver.Epochs = append(r.Deliver.Epochs, e)
		case RemovedFromGroup:
			r.Deliver.Removed = append(r.Deliver.Removed, e)
		case Exported:
			r.Deliver.Exported = append(r.Deliver.Exported, e)
		case KeyPackageCreated:
			r.Deliver.KeyPackages = append(r.Deliver.KeyPackages, e)
		case SignatureKeyCreated:
			r.Deliver.SignatureKeys = append(r.Deliver.SignatureKeys, e)
		case WelcomeStaged:
			r.Deliver.Welcomes = append(r.Deliver.Welcomes, e)
		case Joined:
			r.Deliver.Joined = append(r.Deliver.Joined, e)
		}
	}
	return r
}

// Secrets returns the Persist and Delete effects in phase order, for a key
// store.
func (r Ready) Secrets() []Effect {
	out := make([]Effect, 0, len(r.Persist)+len(r.Delete))
	for _, p := range r.Persist {
		out = append(out, p)
	}
	for _, d := range r.Delete {
		out = append(out, d)
	}
	return out
}

// Find returns the first effect of type T in effs, for callers that look
// for one kind (a test, a tool); ok is false if there is none.
func Find[T Effect](effs []Effect) (e T, ok bool) {
	for _, x := range effs {
		if t, ok := x.(T); ok {
			return t, true
		}
	}
	return e, false
}
