package mls

import (
	"github.com/mlscore/mlscore/internal/shellhook"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
)

// The benchmarks' entry points (package internal/shellhook): a synthetic
// group adopted by a client, and a group put back into a state.
func init() {
	shellhook.Adopt = func(c any, s state.GroupState, ks transitions.KeyStore) (any, error) {
		return c.(*Client).adopt(s, ks)
	}
	shellhook.Reset = func(g any, s state.GroupState) error { return g.(*Group).reset(s) }
}

// adopt stores s as a new group of c, a new client (it holds no group of
// s's id), with ks as c's key store.
func (c *Client) adopt(s state.GroupState, ks transitions.KeyStore) (*Group, error) {
	id := s.GroupID()
	var b Batch
	l, done, err := newGroupLog(&b, c.store, id, c.opts.PolicyID, c.opts.KeepRecords, s)
	if err == nil {
		err = c.store.Commit(ctx, &b)
	}
	if err != nil {
		return nil, err
	}
	done()
	g := &Group{c: c, id: id, st: s, log: l}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = ks
	c.groups[string(id)] = g
	return g, nil
}

// reset stores s as g's state, at the log's start.
func (g *Group) reset(s state.GroupState) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	var b Batch
	done, err := g.log.snapshot(&b, 0, [32]byte{}, s)
	if err == nil {
		err = g.c.store.Commit(ctx, &b)
	}
	if err != nil {
		return err
	}
	done()
	g.st = s
	return nil
}
