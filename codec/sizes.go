package codec

// The memory, on 64-bit platforms, that decoding charges against a
// Decoder's allowance for each value it allocates per element of a vector:
// the size of a list element, or of a structure allocated on its own
// rounded up to the Go allocator's size class. TestChargedSizes checks them
// against unsafe.Sizeof; on 32-bit platforms they are upper bounds.
const (
	sizeProposalOrRef         = 40
	sizeBytes                 = 24 // a []byte: a certificate of an x509 chain
	sizeExtension             = 32
	sizeExternalSender        = 104
	sizeHPKECiphertext        = 48
	sizeUpdatePathNode        = 48
	sizePreSharedKeyID        = 96
	sizeEncryptedGroupSecrets = 72

	sizeProposal               = 96
	sizeAdd                    = 432
	sizeUpdate                 = 352
	sizeRemove                 = 8
	sizePreSharedKey           = 96
	sizeReInit                 = 64
	sizeExternalInit           = 24
	sizeGroupContextExtensions = 24
	sizeNodePointer            = 8 // an entry of a RatchetTree
	sizeNode                   = 24
	sizeLeafNode               = 352
	sizeParentNode             = 80
)
