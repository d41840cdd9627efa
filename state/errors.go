package state

import "errors"

// ErrInvalidConfig reports a configuration value out of its range
// (Config.Check); package mls reports it as mls.ErrInvalidArgument too.
var ErrInvalidConfig = errors.New("mls: invalid group configuration")
