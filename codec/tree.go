package codec

import (
	"errors"
	"fmt"
	"math/bits"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/treemath"
)

// NodeType tells a leaf from a parent node [RFC 9420, Section 7.8]. It is a
// closed enum: decoding rejects other values.
//
// [RFC 9420, Section 7.8]: https://www.rfc-editor.org/rfc/rfc9420#section-7.8
type NodeType uint8

// Node types of [RFC 9420, Section 7.8].
//
// [RFC 9420, Section 7.8]: https://www.rfc-editor.org/rfc/rfc9420#section-7.8
const (
	NodeTypeLeaf   NodeType = 1
	NodeTypeParent NodeType = 2
)

// ParentNode is the content of a non-blank parent node [RFC 9420,
// Section 7.1].
//
// [RFC 9420, Section 7.1]: https://www.rfc-editor.org/rfc/rfc9420#section-7.1
type ParentNode struct {
	EncryptionKey  []byte // HPKEPublicKey
	ParentHash     []byte
	UnmergedLeaves []treemath.LeafIndex
}

// Marshal appends the encoding of p to b.
func (p ParentNode) Marshal(b *cryptobyte.Builder) {
	AddOpaque(b, p.EncryptionKey)
	AddOpaque(b, p.ParentHash)
	addUint32s(b, p.UnmergedLeaves)
}

// Unmarshal reads a ParentNode from d.
func (p *ParentNode) Unmarshal(d *Decoder) {
	p.EncryptionKey = d.Opaque()
	p.ParentHash = d.Opaque()
	p.UnmergedLeaves = readUint32s[treemath.LeafIndex](d)
}

// Encode returns the encoding of p.
func (p ParentNode) Encode() ([]byte, error) { return encode(p) }

// DecodeParentNode decodes a ParentNode.
func DecodeParentNode(data []byte) (ParentNode, error) {
	return decode[ParentNode]("ParentNode", data)
}

// Node is a non-blank node of a ratchet tree as sent in the ratchet_tree
// extension [RFC 9420, Section 12.4.3.3]: Leaf is set when NodeType is leaf,
// Parent when it is parent.
//
// [RFC 9420, Section 12.4.3.3]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.3
type Node struct {
	NodeType NodeType
	Leaf     *LeafNode
	Parent   *ParentNode
}

// Marshal appends the encoding of n to b.
func (n Node) Marshal(b *cryptobyte.Builder) {
	b.AddUint8(uint8(n.NodeType))
	switch {
	case n.NodeType == NodeTypeLeaf && n.Leaf != nil:
		n.Leaf.Marshal(b)
	case n.NodeType == NodeTypeParent && n.Parent != nil:
		n.Parent.Marshal(b)
	default:
		b.SetError(invalid("node of type %d without matching content", n.NodeType))
	}
}

// Unmarshal reads a Node from d.
func (n *Node) Unmarshal(d *Decoder) {
	*n = Node{}
	off := d.Offset()
	n.NodeType = NodeType(d.Uint8())
	switch n.NodeType {
	case NodeTypeLeaf:
		if d.charge(sizeLeafNode) {
			n.Leaf = new(LeafNode)
			n.Leaf.Unmarshal(d)
		}
	case NodeTypeParent:
		if d.charge(sizeParentNode) {
			n.Parent = new(ParentNode)
			n.Parent.Unmarshal(d)
		}
	default:
		d.failAt(off, invalid("node_type %d", n.NodeType))
	}
}

// Encode returns the encoding of n.
func (n Node) Encode() ([]byte, error) { return encode(n) }

// DecodeNode decodes a Node.
func DecodeNode(data []byte) (Node, error) {
	return decode[Node]("Node", data)
}

// RatchetTree is the content of the ratchet_tree extension, optional<Node>
// ratchet_tree<V> [RFC 9420, Section 12.4.3.3]: the nodes in array order,
// nil for a blank node.
//
// Decoding checks only the syntax. The structural rules — a non-empty
// vector whose last node is non-blank, leaves at even and parents at odd
// positions — are checked by Wellformed, which the tree package calls and
// maps to ValSem300, so that all tree validation failures carry that code.
//
// [RFC 9420, Section 12.4.3.3]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.3
type RatchetTree []*Node

// Marshal appends the encoding of t to b.
func (t RatchetTree) Marshal(b *cryptobyte.Builder) {
	AddVector(b, func(b *cryptobyte.Builder) {
		for _, n := range t {
			addOptional(b, n != nil, func(b *cryptobyte.Builder) { n.Marshal(b) })
		}
	})
}

// Unmarshal reads a RatchetTree from d, with no bound on its node count
// but the input's length.
func (t *RatchetTree) Unmarshal(d *Decoder) { t.unmarshalMax(d, MaxVarint) }

// unmarshalMax reads a RatchetTree of at most max nodes. Every node takes
// at least one byte (a blank node is its optional flag), so the vector's
// byte length bounds the count: the node slice is allocated once, for
// min(length, max) nodes, and decoding stops with a *LimitError (Limit
// "nodes") at node max+1, before looking at the bytes after it.
func (t *RatchetTree) unmarshalMax(d *Decoder, max uint64) {
	*t = nil
	d.Vector(func(d *Decoder) {
		var out RatchetTree
		if !d.count {
			n := min(uint64(len(d.s)), max)
			if !d.charge(n * sizeNodePointer) {
				return
			}
			out = make(RatchetTree, 0, n)
		}
		for count := uint64(0); d.err == nil && !d.Empty(); count++ {
			if count >= max {
				d.Fail(&LimitError{Limit: "nodes", Got: max + 1, Max: max})
				break
			}
			var n *Node
			if d.Optional() && d.charge(sizeNode) {
				n = new(Node)
				n.Unmarshal(d)
			}
			if !d.count {
				out = append(out, n)
			}
		}
		if len(out) > 0 {
			*t = out
		}
	})
}

// Encode returns the encoding of t.
func (t RatchetTree) Encode() ([]byte, error) { return encode(t) }

// DecodeRatchetTree decodes a RatchetTree (the extension_data of a
// ratchet_tree extension). See RatchetTree for what is not checked, and
// DecodeRatchetTreeMax to bound the node count.
func DecodeRatchetTree(data []byte) (RatchetTree, error) {
	return decode[RatchetTree]("RatchetTree", data)
}

// DecodeRatchetTreeMax is DecodeRatchetTree for a tree of at most maxNodes
// nodes. Decoding fails with a *DecodeError wrapping a *LimitError (Limit
// "nodes", Got maxNodes+1) as soon as it reaches node maxNodes+1, so that
// the work and memory spent on a hostile vector of blank nodes is bounded
// by maxNodes, whatever the input's length. It allocates at most 8 bytes
// per input byte for the node slice, plus the decoded nodes themselves.
func DecodeRatchetTreeMax(data []byte, maxNodes uint64) (RatchetTree, error) {
	var t RatchetTree
	d := NewDecoder(data)
	t.unmarshalMax(d, maxNodes)
	if err := d.Finish("RatchetTree"); err != nil {
		return nil, err
	}
	return t, nil
}

// Errors returned by RatchetTree.Wellformed.
var (
	// ErrEmptyTree reports a ratchet_tree vector with no node.
	ErrEmptyTree = errors.New("mls: empty ratchet tree")
	// ErrTrailingBlank reports a ratchet_tree vector ending with a blank
	// node ("The receiver MUST check that the last node in ratchet_tree is
	// non-blank", RFC 9420, Section 12.4.3.3).
	ErrTrailingBlank = errors.New("mls: ratchet tree ends with a blank node")
	// ErrNodeTypeMismatch reports a leaf node at an odd (parent) position
	// or a parent node at an even (leaf) position.
	ErrNodeTypeMismatch = errors.New("mls: node type does not match its position in the tree")
)

// Wellformed checks the shape rules of [RFC 9420, Section 12.4.3.3] that
// decoding leaves to the tree layer: t is non-empty, its last node is not
// blank, and each node's type matches its position (leaves at even
// indices). It does not check the tree's contents.
//
// [RFC 9420, Section 12.4.3.3]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.3
func (t RatchetTree) Wellformed() error {
	if len(t) == 0 {
		return ErrEmptyTree
	}
	if t[len(t)-1] == nil {
		return ErrTrailingBlank
	}
	for i, n := range t {
		if n == nil {
			continue
		}
		if leaf := i%2 == 0; leaf != (n.NodeType == NodeTypeLeaf) {
			return fmt.Errorf("%w: node %d has type %d", ErrNodeTypeMismatch, i, n.NodeType)
		}
	}
	return nil
}

// HPKECiphertext is the output of an HPKE encryption [RFC 9420, Section 7.6].
//
// [RFC 9420, Section 7.6]: https://www.rfc-editor.org/rfc/rfc9420#section-7.6
type HPKECiphertext struct {
	KEMOutput  []byte
	Ciphertext []byte
}

// Marshal appends the encoding of c to b.
func (c HPKECiphertext) Marshal(b *cryptobyte.Builder) {
	AddOpaque(b, c.KEMOutput)
	AddOpaque(b, c.Ciphertext)
}

// Unmarshal reads an HPKECiphertext from d. A shared decoder's
// ciphertexts alias its input.
func (c *HPKECiphertext) Unmarshal(d *Decoder) {
	c.KEMOutput = d.sharedOpaque()
	c.Ciphertext = d.sharedOpaque()
}

// Encode returns the encoding of c.
func (c HPKECiphertext) Encode() ([]byte, error) { return encode(c) }

// DecodeHPKECiphertext decodes an HPKECiphertext.
func DecodeHPKECiphertext(data []byte) (HPKECiphertext, error) {
	return decode[HPKECiphertext]("HPKECiphertext", data)
}

// UpdatePathNode is one node of an UpdatePath: the new public key and the
// path secret encrypted to each node of the copath node's resolution
// [RFC 9420, Section 7.6].
//
// [RFC 9420, Section 7.6]: https://www.rfc-editor.org/rfc/rfc9420#section-7.6
type UpdatePathNode struct {
	EncryptionKey       []byte // HPKEPublicKey
	EncryptedPathSecret []HPKECiphertext
}

// Marshal appends the encoding of n to b.
func (n UpdatePathNode) Marshal(b *cryptobyte.Builder) {
	AddOpaque(b, n.EncryptionKey)
	AddVector(b, func(b *cryptobyte.Builder) {
		for _, c := range n.EncryptedPathSecret {
			c.Marshal(b)
		}
	})
}

// Unmarshal reads an UpdatePathNode from d.
func (n *UpdatePathNode) Unmarshal(d *Decoder) {
	n.EncryptionKey = d.Opaque()
	n.EncryptedPathSecret = list(d, "MaxLeaves", d.bounds.MaxLeaves, sizeHPKECiphertext, (*HPKECiphertext).Unmarshal)
}

// maxPathNodes is the length of the longest direct path, in a tree of
// treemath.MaxLeaves leaves.
const maxPathNodes = 31

// pathNodes returns the length of the longest direct path in a tree of at
// most maxLeaves leaves (maxPathNodes when maxLeaves is 0, no bound): the
// depth of the smallest full tree that holds them, ceil(log2(maxLeaves)),
// and at least 1 (a one-leaf tree has no path, but 0 means no bound to
// ListMax).
func pathNodes(maxLeaves uint32) uint32 {
	if maxLeaves == 0 || uint64(maxLeaves) > uint64(treemath.MaxLeaves) {
		return maxPathNodes
	}
	return max(1, uint32(bits.Len32(maxLeaves-1)))
}

// UpdatePath is the new leaf node and path of a committer [RFC 9420,
// Section 7.6].
//
// [RFC 9420, Section 7.6]: https://www.rfc-editor.org/rfc/rfc9420#section-7.6
type UpdatePath struct {
	LeafNode LeafNode
	Nodes    []UpdatePathNode
}

// Marshal appends the encoding of p to b.
func (p UpdatePath) Marshal(b *cryptobyte.Builder) {
	p.LeafNode.Marshal(b)
	AddVector(b, func(b *cryptobyte.Builder) {
		for _, n := range p.Nodes {
			n.Marshal(b)
		}
	})
}

// Unmarshal reads an UpdatePath from d.
func (p *UpdatePath) Unmarshal(d *Decoder) {
	p.LeafNode.Unmarshal(d)
	// One node per level of the filtered direct path: at most the depth
	// of a tree of MaxLeaves leaves, 31 without bounds.
	p.Nodes = list(d, "UpdatePath nodes", pathNodes(d.bounds.MaxLeaves), sizeUpdatePathNode, (*UpdatePathNode).Unmarshal)
}

// Encode returns the encoding of p.
func (p UpdatePath) Encode() ([]byte, error) { return encode(p) }

// DecodeUpdatePath decodes an UpdatePath.
func DecodeUpdatePath(data []byte) (UpdatePath, error) {
	return decode[UpdatePath]("UpdatePath", data)
}
